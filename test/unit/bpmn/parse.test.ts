import fs from 'node:fs';
import path from 'node:path';
import { parseBpmn, type ModelProblem } from '../../../workflows/bpmn';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, 'fixtures', name), 'utf8');
const knownTaskTypes = ['crm.checkCredit', 'crm.releaseCredit'];
const parse = (name: string) => parseBpmn(fixture(name), { knownTaskTypes });
const codesById = (problems: ModelProblem[]) => problems.map((problem) => `${problem.elementId} ${problem.code}`).sort();

describe('parsing BPMN into the executable model', () => {
  it('turns every supported element of a full model into its node, with no problems', async () => {
    // when
    const { model, problems } = await parse('all-elements.bpmn');

    // then
    expect(problems).toEqual([]);
    expect(model!.key).toBe('order');
    expect(model!.name).toBe('Order');
    expect(model!.messages['msg-payment']).toEqual({ id: 'msg-payment', name: 'payment-received' });
    expect(model!.errors['err-credit']).toEqual({ id: 'err-credit', errorCode: 'CREDIT_REFUSED', name: 'Credit refused' });
    expect(model!.startForm).toEqual([
      { id: 'orderId', label: 'Order', type: 'string', required: true },
      { id: 'amount', type: 'number', min: 0, max: 1000000 },
    ]);
    const nodes = model!.nodes;
    expect(nodes.check).toMatchObject({
      type: 'serviceTask',
      taskType: 'crm.checkCredit',
      retries: 5,
      timeout: 'PT30S',
      retryBackoff: 'PT2S',
      inputs: [{ source: '=customer.id', target: 'customerId' }],
      outputs: [{ source: '=score', target: 'creditScore' }],
      boundaryEventIds: ['credit-refused', 'undo-check'],
      incoming: ['f1'],
      outgoing: ['f2'],
    });
    expect(nodes['release-credit']).toMatchObject({ type: 'serviceTask', isForCompensation: true, retries: 3, timeout: 'PT1M' });
    expect(nodes['undo-check']).toMatchObject({ type: 'boundaryEvent', event: { kind: 'compensation' }, compensationHandlerId: 'release-credit', attachedToRef: 'check' });
    expect(nodes['credit-refused']).toMatchObject({ type: 'boundaryEvent', cancelActivity: true, event: { kind: 'error', errorRef: 'err-credit' } });
    expect(nodes['refused-end']).toMatchObject({ type: 'endEvent', event: { kind: 'error', errorRef: 'err-credit' } });
    expect(nodes.big).toMatchObject({ type: 'exclusiveGateway', defaultFlowId: 'f-small', outgoing: ['f-big', 'f-small'] });
    expect(model!.flows['f-big']).toEqual({ id: 'f-big', sourceId: 'big', targetId: 'approve', condition: '=amount > 10000' });
    expect(nodes.approve).toMatchObject({
      type: 'userTask',
      candidateGroups: 'supervisor,customer_manager',
      assignee: '=manager',
      dueDate: 'P2D',
      formKey: 'approve-order',
      priority: 70,
      form: [
        { id: 'approved', type: 'boolean', required: true },
        { id: 'reason', type: 'enum', values: ['price', 'credit', 'other'] },
      ],
    });
    expect(nodes.remind).toMatchObject({ type: 'boundaryEvent', cancelActivity: false, event: { kind: 'timer', timer: { kind: 'cycle', expression: 'R3/PT1H' } } });
    expect(nodes['note-reminder']).toMatchObject({ type: 'scriptTask', assignments: [{ source: '=if reminders = null then 1 else reminders + 1', target: 'reminders' }] });
    expect(nodes['wait-payment']).toMatchObject({ type: 'receiveTask', messageRef: 'msg-payment', correlationKey: '=orderId' });
    expect(nodes.provision).toMatchObject({
      type: 'subProcess',
      multiInstance: { sequential: false, inputCollection: '=lines', inputElement: 'line', outputCollection: 'results', outputElement: '=result', completionCondition: '=count(results) >= 10' },
    });
    expect(nodes['p-script']).toMatchObject({ parentId: 'provision', assignments: [{ source: '=line.sku', target: 'result' }] });
    expect(nodes.join).toMatchObject({ type: 'parallelGateway', incoming: ['f7', 'f8'] });
    expect(nodes.race).toMatchObject({ type: 'eventBasedGateway' });
    expect(nodes.cancelled).toMatchObject({ type: 'intermediateCatchEvent', event: { kind: 'message', messageRef: 'msg-cancel', correlationKey: '=orderId' } });
    expect(nodes.cooling).toMatchObject({ event: { kind: 'timer', timer: { kind: 'duration', expression: 'PT15M' } } });
    expect(nodes.compensate).toMatchObject({ type: 'intermediateThrowEvent', event: { kind: 'compensation' } });
    expect(nodes.terminate).toMatchObject({ type: 'endEvent', event: { kind: 'terminate' } });
    expect(nodes.notify).toMatchObject({ type: 'inclusiveGateway', defaultFlowId: 'f-none' });
    expect(nodes.child).toMatchObject({ type: 'callActivity', calledElement: 'send-sms', calledVersion: 2, businessKey: '=orderId + "-sms"', propagateAllVariables: true });
    expect(nodes.manual).toMatchObject({ type: 'task' });
    // lanes, pools and annotations carry no behaviour and are left out
    expect(Object.keys(nodes)).not.toEqual(expect.arrayContaining(['lane-1', 'pool', 'note']));
  });

  it('produces plain JSON that survives a round trip unchanged (it travels in Temporal payloads)', async () => {
    const { model } = await parse('all-elements.bpmn');

    expect(JSON.parse(JSON.stringify(model))).toEqual(model);
  });

  it('accepts the standard BPMN calledElement attribute as well as kf:calledElement', async () => {
    const xml = fixture('all-elements.bpmn').replace('kf:calledElement="send-sms"', 'calledElement="send-sms"');

    const { model, problems } = await parseBpmn(xml, { knownTaskTypes });

    expect(problems).toEqual([]);
    expect(model!.nodes.child).toMatchObject({ calledElement: 'send-sms' });
  });

  it('parses the shipped example processes without problems', async () => {
    const dir = path.join(__dirname, '..', '..', '..', 'processes');
    for (const file of fs.readdirSync(dir).filter((name) => name.endsWith('.bpmn'))) {
      const { problems } = await parseBpmn(fs.readFileSync(path.join(dir, file), 'utf8'));
      expect({ file, problems }).toEqual({ file, problems: [] });
    }
  });
});

describe('event sub-processes', () => {
  it('parses event sub-processes at process level and inside a sub-process, with their start kinds and interrupting flags', async () => {
    // when
    const { model, problems } = await parse('event-subprocesses.bpmn');

    // then
    expect(problems).toEqual([]);
    const nodes = model!.nodes;
    expect(nodes.sla).toMatchObject({ type: 'subProcess', triggeredByEvent: true, incoming: [], outgoing: [] });
    expect(nodes['sla-start']).toMatchObject({ type: 'startEvent', parentId: 'sla', event: { kind: 'timer', timer: { kind: 'duration', expression: 'P2D' } } });
    expect(nodes['sla-start']).not.toHaveProperty('isInterrupting');
    expect(nodes['reminders-start']).toMatchObject({ isInterrupting: false, event: { kind: 'timer', timer: { kind: 'cycle', expression: 'R3/PT8H' } } });
    expect(nodes['notes-start']).toMatchObject({ isInterrupting: false, event: { kind: 'message', messageRef: 'msg-note', correlationKey: '=complaintId' } });
    expect(nodes['refused-start']).toMatchObject({ event: { kind: 'error', errorRef: 'err-refused' } });
    expect(nodes['any-error-start']).toMatchObject({ event: { kind: 'error' } });
    expect(nodes['freeze-start']).toMatchObject({ event: { kind: 'signal', signalRef: 'freeze-all' } });
    expect(nodes.withdrawn).toMatchObject({ type: 'subProcess', triggeredByEvent: true, parentId: 'work' });
    expect(nodes.work).not.toHaveProperty('triggeredByEvent');
  });

  it('refuses flows into an event sub-process, a start count other than one, starts that cannot start one, and two event sub-processes waiting for the same thing', async () => {
    const { problems } = await parse('event-subprocess-problems.bpmn');

    expect(codesById(problems)).toEqual(
      [
        'flowed INVALID_EVENT_SUBPROCESS',
        'two-starts INVALID_EVENT_SUBPROCESS',
        'plain-start INVALID_EVENT_SUBPROCESS',
        'soft-error-start INVALID_EVENT_SUBPROCESS',
        'same-error INVALID_EVENT_SUBPROCESS',
        'cycling-start INVALID_TIMER',
        'notes-again INVALID_EVENT_SUBPROCESS',
        'error-start INVALID_EVENT_SUBPROCESS',
      ].sort(),
    );
    expect(problems.find((problem) => problem.elementId === 'same-error')!.message).toMatch(/REFUSED is already caught by event sub-process "soft-error"/);
    expect(problems.find((problem) => problem.elementId === 'flowed')!.message).toMatch(/no sequence flow may enter or leave/);
  });

  it('requires an event sub-process to have a start and an end event', async () => {
    const xml = fixture('event-subprocesses.bpmn').replace('<bpmn:endEvent id="notes-end" />', '').replace('<bpmn:sequenceFlow id="n1" sourceRef="notes-start" targetRef="notes-end" />', '');

    const { problems } = await parseBpmn(xml);

    expect(codesById(problems)).toEqual(['notes NO_END_EVENT']);
  });
});

describe('validating a model reports every problem at once, by element id', () => {
  it('names unsupported elements and says what is supported, but accepts pools and lanes', async () => {
    const { problems } = await parse('unsupported-elements.bpmn');

    expect(codesById(problems)).toEqual(
      // Business rule and send tasks and conditional events are supported now; these name no decision, result variable or kf:type.
      ['complex UNSUPPORTED_ELEMENT', 'booking UNSUPPORTED_ELEMENT', 'rules MISSING_ATTRIBUTE', 'rules MISSING_ATTRIBUTE', 'send MISSING_ATTRIBUTE', 'wait-cancel UNSUPPORTED_ELEMENT'].sort(),
    );
    expect(problems.find((problem) => problem.elementId === 'complex')!.message).toMatch(/complex gateways are not supported.*supported: .*exclusive, parallel/);
  });

  it('reads a business rule task: the decision, its version (a number or latest) and the result variable', async () => {
    const { model, problems } = await parseBpmn(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:kf="http://keyflow.dev/schema/bpmn/kf" id="d" targetNamespace="t">
  <bpmn:process id="rules-example" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pinned" />
    <bpmn:businessRuleTask id="pinned" kf:decisionRef="complaint-sla" kf:decisionVersion="2" kf:resultVariable="sla.hours" />
    <bpmn:sequenceFlow id="f2" sourceRef="pinned" targetRef="latest" />
    <bpmn:businessRuleTask id="latest" kf:decisionRef="complaint-routing" kf:decisionVersion="latest" kf:resultVariable="department" />
    <bpmn:sequenceFlow id="f3" sourceRef="latest" targetRef="bad" />
    <bpmn:businessRuleTask id="bad" kf:decisionRef="complaint-routing" kf:decisionVersion="newest" kf:resultVariable="x" />
    <bpmn:sequenceFlow id="f4" sourceRef="bad" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`);

    expect(model!.nodes.pinned).toMatchObject({ type: 'businessRuleTask', decisionRef: 'complaint-sla', decisionVersion: 2, resultVariable: 'sla.hours' });
    expect(model!.nodes.latest).toMatchObject({ decisionVersion: 'latest' });
    expect(codesById(problems)).toEqual(['bad INVALID_ATTRIBUTE']);
  });

  it('refuses a kf:type the worker does not run, a missing kf:type and malformed retries and timeouts', async () => {
    const { problems } = await parse('task-types.bpmn');

    expect(codesById(problems)).toEqual(['typo UNKNOWN_TASK_TYPE', 'untyped INVALID_ATTRIBUTE', 'untyped INVALID_ATTRIBUTE', 'untyped MISSING_ATTRIBUTE']);
    expect(problems.find((problem) => problem.code === 'UNKNOWN_TASK_TYPE')!.message).toContain('crm.checkCredit');
  });

  it('refuses a splitting gateway with an unconditioned flow and no default, and a default flow that is not its own', async () => {
    const { problems } = await parse('gateway-conditions.bpmn');

    expect(codesById(problems)).toEqual(['or CONDITION_MISSING', 'or MISSING_REFERENCE', 'xor CONDITION_MISSING']);
    expect(problems.find((problem) => problem.elementId === 'xor')!.message).toMatch(/xor-b has no condition and there is no default flow/);
  });

  it('finds nodes no path from a start event reaches', async () => {
    const { problems } = await parse('unreachable.bpmn');

    expect(codesById(problems)).toEqual(['orphan UNREACHABLE_NODE', 'orphan-end UNREACHABLE_NODE']);
  });

  it('requires a start and an end event', async () => {
    const { problems } = await parse('no-start-no-end.bpmn');

    expect(codesById(problems)).toEqual(['alone UNREACHABLE_NODE', 'p NO_END_EVENT', 'p NO_START_EVENT']);
  });

  it('parses every expression: conditions, mappings, assignments and expression attributes', async () => {
    const { problems } = await parse('bad-expressions.bpmn');

    expect(codesById(problems)).toEqual(['approve INVALID_EXPRESSION', 'compute INVALID_EXPRESSION', 'compute INVALID_EXPRESSION', 'f-broken INVALID_EXPRESSION']);
    expect(problems.map((problem) => problem.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/incomplete/), expect.stringMatching(/at most 10000 may be iterated/), expect.stringMatching(/function definitions are not allowed/)]),
    );
  });

  it('reports duplicate ids', async () => {
    const { problems } = await parse('duplicate-ids.bpmn');

    expect(codesById(problems)).toEqual(['work DUPLICATE_ID']);
  });

  it('reports missing message, error and timer references and malformed timers', async () => {
    const { problems } = await parse('missing-references.bpmn');

    expect(codesById(problems)).toEqual([
      'caught MISSING_REFERENCE',
      'failed MISSING_REFERENCE',
      'receive MISSING_REFERENCE',
      'wait-bad-timer INVALID_TIMER',
      'wait-empty-timer INVALID_TIMER',
      'wait-message MISSING_REFERENCE',
      'wait-message MISSING_REFERENCE',
    ]);
  });

  it('requires a call activity to name the process it calls', async () => {
    const { problems } = await parse('call-activity.bpmn');

    expect(codesById(problems)).toEqual(['call INVALID_ATTRIBUTE', 'call MISSING_ATTRIBUTE']);
  });

  it('refuses boundary events attached to nothing or to something that is not an activity', async () => {
    const { problems } = await parse('boundary-unattached.bpmn');

    expect(codesById(problems)).toEqual(expect.arrayContaining(['floating BOUNDARY_NOT_ATTACHED', 'on-gateway BOUNDARY_NOT_ATTACHED']));
  });

  it('refuses an escalation throw without a code, an escalation boundary on a task, and two event sub-processes of one scope for the same escalation', async () => {
    const { problems } = await parse('escalations-broken.bpmn');

    expect(codesById(problems)).toEqual(['on-task UNSUPPORTED_ELEMENT', 'second INVALID_EVENT_SUBPROCESS', 'shout-nothing MISSING_REFERENCE']);
    expect(problems.find((problem) => problem.elementId === 'on-task')?.message).toContain('embedded sub-process');
  });

  it('refuses a conditional event without a condition, and one whose condition does not parse', async () => {
    const { problems } = await parseBpmn(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://keyflow.dev/test">
  <bpmn:process id="conditions" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="no-condition" />
    <bpmn:intermediateCatchEvent id="no-condition"><bpmn:conditionalEventDefinition /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="no-condition" targetRef="bad-condition" />
    <bpmn:intermediateCatchEvent id="bad-condition"><bpmn:conditionalEventDefinition><bpmn:condition>=amount &gt;</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="bad-condition" targetRef="end" /><bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`);

    expect(codesById(problems)).toEqual(['bad-condition INVALID_EXPRESSION', 'no-condition MISSING_ATTRIBUTE']);
  });

  it('reads each executable pool of a collaboration as its own process, and says which pools it leaves out', async () => {
    const both = await parse('two-processes.bpmn');
    expect(both.problems).toEqual([]);
    expect(both.models!.map((model) => model.key)).toEqual(['first', 'second']);
    expect(both.model!.key).toBe('first');

    const xml = fixture('two-processes.bpmn');
    const oneExecutable = await parseBpmn(xml.replace('<bpmn:process id="second" isExecutable="true">', '<bpmn:process id="second" name="Customer" isExecutable="false">'));
    expect(oneExecutable.models!.map((model) => model.key)).toEqual(['first']);
    expect(oneExecutable.skipped).toEqual([{ processId: 'second', name: 'Customer', reason: expect.stringContaining('not marked executable') }]);

    const none = await parseBpmn(xml.replace(/isExecutable="true"/g, 'isExecutable="false"'));
    expect(none.model).toBeUndefined();
    expect(codesById(none.problems)).toEqual(['definitions NO_EXECUTABLE_PROCESS']);
  });

  it('joins a link throw to the catch of the same name in its scope, and names a link that goes nowhere or is caught twice', async () => {
    const links = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:kf="http://keyflow.dev/schema/bpmn/kf" id="d" targetNamespace="t">
  <bpmn:process id="links" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="to-billing" />
    <bpmn:intermediateThrowEvent id="to-billing"><bpmn:linkEventDefinition id="l1" name="billing" /></bpmn:intermediateThrowEvent>
    ${body}
    <bpmn:sequenceFlow id="f2" sourceRef="from-billing" targetRef="end" /><bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;
    const joined = await parseBpmn(links('<bpmn:intermediateCatchEvent id="from-billing"><bpmn:linkEventDefinition id="l2" name="billing" /></bpmn:intermediateCatchEvent>'));
    expect(joined.problems).toEqual([]);
    expect(joined.model!.nodes['to-billing']).toMatchObject({ type: 'intermediateThrowEvent', event: { kind: 'none' }, outgoing: ['to-billing~link~from-billing'] });
    expect(joined.model!.flows['to-billing~link~from-billing']).toEqual({ id: 'to-billing~link~from-billing', sourceId: 'to-billing', targetId: 'from-billing' });

    const nowhere = await parseBpmn(links('<bpmn:intermediateCatchEvent id="from-billing"><bpmn:linkEventDefinition id="l2" name="invoicing" /></bpmn:intermediateCatchEvent>'));
    expect(codesById(nowhere.problems)).toContain('to-billing MISSING_REFERENCE');
    const twice = await parseBpmn(
      links('<bpmn:intermediateCatchEvent id="from-billing"><bpmn:linkEventDefinition id="l2" name="billing" /></bpmn:intermediateCatchEvent><bpmn:intermediateCatchEvent id="again"><bpmn:linkEventDefinition id="l3" name="billing" /></bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f3" sourceRef="again" targetRef="end" />'),
    );
    expect(codesById(twice.problems)).toContain('to-billing INVALID_ATTRIBUTE');
  });

  it('refuses a document without a process', async () => {
    const { model, problems } = await parse('no-process.bpmn');

    expect(model).toBeUndefined();
    expect(codesById(problems)).toEqual(['definitions NO_PROCESS']);
  });

  it('requires each embedded sub-process to have its own start and end, and a timer start to be a literal (it becomes a schedule)', async () => {
    const xml = fixture('unreachable.bpmn')
      .replace('<bpmn:startEvent id="start" />', '<bpmn:startEvent id="start"><bpmn:timerEventDefinition><bpmn:timeCycle>=cycle</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>')
      .replace('<bpmn:userTask id="orphan" />', '<bpmn:subProcess id="orphan"><bpmn:task id="inner" /></bpmn:subProcess>')
      .replace('targetRef="end" />', 'targetRef="orphan" />')
      .replace('<bpmn:sequenceFlow id="f2" sourceRef="orphan" targetRef="orphan-end" />', '<bpmn:sequenceFlow id="f2" sourceRef="orphan" targetRef="end" />')
      .replace('<bpmn:endEvent id="orphan-end" />', '');

    const { problems } = await parseBpmn(xml);

    expect(codesById(problems)).toEqual(['inner UNREACHABLE_NODE', 'orphan NO_END_EVENT', 'orphan NO_START_EVENT', 'start INVALID_TIMER']);
  });

  it('refuses a process id that cannot be a definition key', async () => {
    const tooLong = `order-${'x'.repeat(130)}`;
    const xml = fixture('unreachable.bpmn').replace('id="p"', `id="${tooLong}"`);

    const { problems } = await parseBpmn(xml);

    expect(codesById(problems)).toContain(`${tooLong} INVALID_PROCESS_KEY`);
  });
});

describe('refusing hostile or broken XML before it costs anything', () => {
  const entityBomb = `<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"><bpmn:process id="p" name="&lol3;" /></bpmn:definitions>`;
  const externalEntity = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"><bpmn:process id="p" name="&xxe;" /></bpmn:definitions>`;

  it.each([
    ['an entity bomb', entityBomb],
    ['an external entity', externalEntity],
    ['a DOCTYPE in lower case', entityBomb.replace('DOCTYPE', 'doctype')],
  ])('refuses %s', async (_name, xml) => {
    const { model, problems } = await parseBpmn(xml);

    expect(model).toBeUndefined();
    expect(problems).toEqual([{ elementId: 'definitions', code: 'XML_DOCTYPE_REFUSED', message: expect.stringMatching(/entit/) }]);
  });

  it('refuses a document over 2 MB without parsing it', async () => {
    const xml = fixture('all-elements.bpmn').replace('<bpmn:process', `<!-- ${'x'.repeat(2 * 1024 * 1024)} --><bpmn:process`);

    const { problems } = await parseBpmn(xml);

    expect(problems).toEqual([{ elementId: 'definitions', code: 'XML_TOO_LARGE', message: expect.any(String) }]);
  });

  it('counts multi-byte characters in bytes against the limit', async () => {
    const xml = fixture('all-elements.bpmn').replace('Shipped example', '开'.repeat(800_000));

    const { problems } = await parseBpmn(xml);

    expect(problems.map((problem) => problem.code)).toEqual(['XML_TOO_LARGE']);
  });

  const head = '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"><bpmn:process id="p">';

  it('refuses nesting deep enough to overflow the parser, without parsing it', async () => {
    const deep = `${head}${Array.from({ length: 20_000 }, (_, index) => `<bpmn:subProcess id="s${index}">`).join('')}${'</bpmn:subProcess>'.repeat(20_000)}</bpmn:process></bpmn:definitions>`;

    const { problems } = await parseBpmn(deep);

    expect(problems).toEqual([{ elementId: 'definitions', code: 'XML_TOO_LARGE', message: expect.stringMatching(/deeper than 100 levels/) }]);
  });

  it('refuses more elements than any real model has, without parsing them', async () => {
    const many = `${head}${Array.from({ length: 60_000 }, (_, index) => `<bpmn:task id="t${index}"/>`).join('')}</bpmn:process></bpmn:definitions>`;

    const { problems } = await parseBpmn(many);

    expect(problems).toEqual([{ elementId: 'definitions', code: 'XML_TOO_LARGE', message: expect.stringMatching(/more than 50000 elements/) }]);
  });

  it('does not count a < inside CDATA or a comment as an element', async () => {
    const xml = fixture('all-elements.bpmn').replace('=amount &gt; 10000', '<![CDATA[=amount > 10000 and <<not a tag>]]>').replace('<bpmn:textAnnotation', '<!-- <<<< --><bpmn:textAnnotation');

    const { problems } = await parseBpmn(xml, { knownTaskTypes });

    expect(problems.map((problem) => `${problem.elementId} ${problem.code}`)).toEqual(['f-big INVALID_EXPRESSION']);
  });

  it.each([
    ['garbage', 'this is not xml at all', 'XML_MALFORMED'],
    ['an empty document', '', 'XML_MALFORMED'],
    ['JSON', '{"process": "order"}', 'XML_MALFORMED'],
    ['XML that is not BPMN', '<?xml version="1.0"?><order xmlns="urn:example"><id>1</id></order>', 'NOT_BPMN'],
    ['unclosed BPMN', '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"><bpmn:process id="p">', 'XML_MALFORMED'],
    ['unbalanced quotes everywhere', `<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">${'<a "'.repeat(100_000)}`, 'XML_MALFORMED'],
  ])('answers %s with one clear problem', async (_name, xml, code) => {
    const { model, problems } = await parseBpmn(xml);

    expect(model).toBeUndefined();
    expect(problems.map((problem) => problem.code)).toEqual([code]);
  });
});
