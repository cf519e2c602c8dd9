import { messageSignalName, resolveIncidentUpdateName, retryIncidentUpdateName, type ServiceTaskRequest } from '../../../workflows/contracts';
import { buildModel, createEngineHarness, path_, type EngineHarness } from './harness';

describe('bpmnProcess: gateways', () => {
  let engine: EngineHarness;

  beforeAll(async () => {
    engine = await createEngineHarness({
      async 'test.mark'(request: ServiceTaskRequest) {
        return { [`did_${request.context.nodeId}`]: true };
      },
    });
  });
  afterAll(() => engine?.stop());

  const mark = (id: string) => ({ id, type: 'serviceTask' as const, taskType: 'test.mark' });

  describe('an exclusive gateway', () => {
    const model = buildModel(
      'exclusive',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'route', type: 'exclusiveGateway', defaultFlowId: 'toSmall' },
        mark('big'),
        mark('huge'),
        mark('small'),
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'route'],
        ['toHuge', 'route', 'huge', '=amount > 1000'],
        ['toBig', 'route', 'big', '=amount > 100'],
        ['toSmall', 'route', 'small'],
        ['f2', 'big', 'end'],
        ['f3', 'huge', 'end'],
        ['f4', 'small', 'end'],
      ],
    );

    it('takes the first flow whose condition is true', async () => {
      const { handle } = await engine.run(model, { amount: 5000 });
      expect(path_(await engine.state(handle))).toEqual(['start', 'route', 'huge', 'end']);
      await engine.record('exclusive-gateway', handle);
    });

    it('takes the default flow when no condition is true', async () => {
      const { handle } = await engine.run(model, { amount: 5 });
      expect(path_(await engine.state(handle))).toEqual(['start', 'route', 'small', 'end']);
    });

    it('raises an incident when no condition is true and there is no default, and goes on once ops retry with new variables', async () => {
      const noDefault = buildModel(
        'exclusive-strict',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'route', type: 'exclusiveGateway' },
          mark('big'),
          mark('small'),
          { id: 'end', type: 'endEvent' },
        ],
        [
          ['f1', 'start', 'route'],
          ['toBig', 'route', 'big', '=amount > 100'],
          ['toSmall', 'route', 'small', '=amount <= 100'],
          ['f2', 'big', 'end'],
          ['f3', 'small', 'end'],
        ],
      );
      const handle = await engine.start(noDefault, {});
      const parked = await engine.waitFor(handle, (state) => state.incidents.length === 1);
      expect(parked.incidents[0]).toMatchObject({ nodeId: 'route', errorType: 'NoPathError' });
      expect(parked.status).toBe('running');

      await handle.executeUpdate(retryIncidentUpdateName, { args: [{ incidentId: parked.incidents[0]!.id, variables: { amount: 500 } }] });
      await handle.result();
      expect(path_(await engine.state(handle))).toEqual(['start', 'route', 'big', 'end']);
    });
  });

  it('a parallel gateway runs both branches and joins on all incoming flows', async () => {
    const model = buildModel(
      'parallel',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'fork', type: 'parallelGateway' },
        mark('a'),
        mark('b'),
        { id: 'join', type: 'parallelGateway' },
        mark('after'),
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'fork'],
        ['f2', 'fork', 'a'],
        ['f3', 'fork', 'b'],
        ['f4', 'a', 'join'],
        ['f5', 'b', 'join'],
        ['f6', 'join', 'after'],
        ['f7', 'after', 'end'],
      ],
    );
    const { handle, result } = await engine.run(model);
    const path = path_(await engine.state(handle));
    expect(result.variables).toEqual({ did_a: true, did_b: true, did_after: true });
    // the join completes once, after both branches, and `after` runs once
    expect(path.filter((id) => id === 'join')).toHaveLength(1);
    expect(path.filter((id) => id === 'after')).toHaveLength(1);
    expect(path.indexOf('join')).toBeGreaterThan(Math.max(path.indexOf('a'), path.indexOf('b')));
    await engine.record('parallel-gateway', handle);
  });

  describe('an inclusive gateway', () => {
    const model = buildModel(
      'inclusive',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'split', type: 'inclusiveGateway', defaultFlowId: 'toNone' },
        mark('sms'),
        { id: 'email', type: 'receiveTask', messageRef: 'm1' },
        mark('none'),
        { id: 'join', type: 'inclusiveGateway' },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'split'],
        ['toSms', 'split', 'sms', '=notify.sms'],
        ['toEmail', 'split', 'email', '=notify.email'],
        ['toNone', 'split', 'none'],
        ['f2', 'sms', 'join'],
        ['f3', 'email', 'join'],
        ['f4', 'none', 'join'],
        ['f5', 'join', 'end'],
      ],
      { messages: { m1: { id: 'm1', name: 'emailSent' } } },
    );

    it('splits on every true condition and joins only when no other token can still arrive', async () => {
      const handle = await engine.start(model, { notify: { sms: true, email: true } });
      // sms is done quickly; the join must still wait for the email branch
      const waiting = await engine.waitFor(handle, (state) => path_(state).includes('sms') && state.activeNodes.some((node) => node.nodeId === 'email'));
      expect(path_(waiting)).not.toContain('join');

      await handle.signal(messageSignalName, { name: 'emailSent' });
      await handle.result();
      const path = path_(await engine.state(handle));
      expect(path.filter((id) => id === 'join')).toHaveLength(1);
      expect(path).not.toContain('none');
      expect(path.indexOf('join')).toBeGreaterThan(path.indexOf('email'));
      await engine.record('inclusive-gateway', handle);
    });

    it('joins a single branch at once and takes the default when nothing is true', async () => {
      const one = await engine.run(model, { notify: { sms: true, email: false } });
      expect(path_(await engine.state(one.handle))).toEqual(['start', 'split', 'sms', 'join', 'end']);
      const none = await engine.run(model, { notify: { sms: false, email: false } });
      expect(path_(await engine.state(none.handle))).toEqual(['start', 'split', 'none', 'join', 'end']);
    });
  });

  describe('an event-based gateway', () => {
    const model = buildModel(
      'event-race',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'race', type: 'eventBasedGateway' },
        { id: 'paid', type: 'intermediateCatchEvent', event: { kind: 'message', messageRef: 'paid', correlationKey: '=billId' } },
        { id: 'timeout', type: 'intermediateCatchEvent', event: { kind: 'timer', timer: { kind: 'duration', expression: 'PT1.5S' } } },
        { id: 'thanks', type: 'task' },
        { id: 'dun', type: 'task' },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'race'],
        ['f2', 'race', 'paid'],
        ['f3', 'race', 'timeout'],
        ['f4', 'paid', 'thanks'],
        ['f5', 'timeout', 'dun'],
        ['f6', 'thanks', 'end'],
        ['f7', 'dun', 'end'],
      ],
      { messages: { paid: { id: 'paid', name: 'billPaid' } } },
    );

    it('follows the message when it comes first, with its variables', async () => {
      const handle = await engine.start(model, { billId: 'B-7' });
      await engine.waitFor(handle, (state) => state.activeNodes.some((node) => node.nodeId === 'race'));
      await handle.signal(messageSignalName, { name: 'billPaid', correlationKey: 'B-7', variables: { paidAmount: 9900 } });
      const result = (await handle.result()) as { variables: Record<string, unknown> };
      expect(result.variables.paidAmount).toBe(9900);
      expect(path_(await engine.state(handle))).toEqual(['start', 'race', 'paid', 'thanks', 'end']);
      await engine.record('event-based-gateway', handle);
    });

    it('follows the timer when no message comes', async () => {
      const { handle } = await engine.run(model, { billId: 'B-8' });
      expect(path_(await engine.state(handle))).toEqual(['start', 'race', 'timeout', 'dun', 'end']);
    });
  });

  it('skips a gateway incident with resolveIncident, merging the given variables', async () => {
    const model = buildModel(
      'broken-condition',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'route', type: 'exclusiveGateway' },
        mark('a'),
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'route'],
        ['f2', 'route', 'a', '=amount'],
        ['f3', 'a', 'end'],
      ],
    );
    const handle = await engine.start(model, { amount: 3 });
    const parked = await engine.waitFor(handle, (state) => state.incidents.length === 1);
    expect(parked.incidents[0]).toMatchObject({ nodeId: 'route', errorType: 'ExpressionError' });
    await handle.executeUpdate(resolveIncidentUpdateName, { args: [{ incidentId: parked.incidents[0]!.id, variables: { skipped: true } }] });
    const result = (await handle.result()) as { variables: Record<string, unknown> };
    expect(result.variables).toMatchObject({ skipped: true, did_a: true });
  });
});
