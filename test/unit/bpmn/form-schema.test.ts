import { formFieldsFromSchema, parseBpmn, schemaFromFormFields } from '../../../workflows/bpmn';
import type { FormField } from '../../../workflows/model';

const approvalForm = {
  type: 'default',
  id: 'ApprovalForm',
  schemaVersion: 19,
  components: [
    { type: 'text', text: '# Approve the order' },
    { type: 'checkbox', key: 'approved', label: 'Approved', validate: { required: true } },
    { type: 'group', label: 'Details', components: [{ type: 'textarea', key: 'comment', label: 'Comment', validate: { maxLength: 200 } }] },
    { type: 'number', key: 'discount', label: 'Discount %', validate: { min: 0, max: 30 } },
    { type: 'select', key: 'level', label: 'Level', values: [{ label: 'Gold', value: 'gold' }, { label: 'Silver', value: 'silver' }] },
    { type: 'datetime', subtype: 'date', key: 'startOn', dateLabel: 'Start on' },
    { type: 'separator' },
  ],
};

function taskWithForm(extensions: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:kf="http://keyflow.dev/schema/bpmn/kf" id="d" targetNamespace="t">
  <bpmn:process id="approval" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="approve" kf:candidateGroups="supervisor">
      <bpmn:extensionElements>${extensions}</bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>`;
}

const cdata = (json: unknown) => `<kf:formDefinition><![CDATA[${JSON.stringify(json)}]]></kf:formDefinition>`;

describe('forms designed with form-js', () => {
  it('are read down to the fields a completion may write, with their rules; layout components write nothing', () => {
    expect(formFieldsFromSchema(approvalForm)).toEqual({
      problems: [],
      fields: [
        { id: 'approved', type: 'boolean', label: 'Approved', required: true },
        { id: 'comment', type: 'string', label: 'Comment', maxLength: 200 },
        { id: 'discount', type: 'number', label: 'Discount %', min: 0, max: 30 },
        { id: 'level', type: 'enum', label: 'Level', values: ['gold', 'silver'] },
        { id: 'startOn', type: 'date', label: 'Start on' },
      ],
    });
  });

  it('read a number rule held as the text typed into it ("200") as that number, and one starting with "=" as an expression', () => {
    const typed = { components: [{ type: 'textarea', key: 'comment', validate: { maxLength: '200' } }, { type: 'number', key: 'quota', validate: { min: ' 0 ', max: '=limit' } }] };
    expect(formFieldsFromSchema(typed)).toEqual({
      problems: ['form field "quota" computes max with an expression; Keyflow checks fixed rules only'],
      fields: [{ id: 'comment', type: 'string', maxLength: 200 }],
    });
  });

  it('name what Keyflow cannot check: options loaded at run time, arrays, times, rules it does not enforce or computes, missing or duplicate keys, text that is not JSON', () => {
    const { problems } = formFieldsFromSchema({
      components: [
        { type: 'select', key: 'tariff', valuesKey: 'tariffs' },
        { type: 'checklist', key: 'services', values: [{ label: 'a', value: 'a' }] },
        { type: 'datetime', subtype: 'datetime', key: 'at' },
        { type: 'textfield', label: 'no key' },
        { type: 'textfield', key: 'note' },
        { type: 'textarea', key: 'note' },
        { type: 'number', key: '1st' },
        { type: 'textfield', key: 'email', validate: { validationType: 'email', minLength: 3 } },
        { type: 'number', key: 'quota', validate: { min: '=floor' } },
      ],
    });
    expect(problems).toEqual([
      expect.stringContaining('"tariff" takes its options from the process at run time'),
      expect.stringContaining('"services" is a "checklist"'),
      expect.stringContaining('"at" is a datetime of subtype "datetime"'),
      expect.stringContaining('a textfield in the form has no key'),
      'two form fields write "note"',
      expect.stringContaining('"1st" is not a variable name'),
      'form field "email" has the rules validationType, minLength, which Keyflow does not check at completion; it checks required, maxLength here',
      'form field "quota" computes min with an expression; Keyflow checks fixed rules only',
    ]);
    expect(formFieldsFromSchema('{ not json').problems).toEqual([expect.stringContaining('the form definition is not JSON')]);
    expect(formFieldsFromSchema({ type: 'default' }).problems).toEqual([expect.stringContaining('no "components" list')]);
  });

  it('start from the fields a model lists: the schema made from them reads back to the same fields', () => {
    const fields: FormField[] = [
      { id: 'approved', type: 'boolean', label: 'Approved', required: true },
      { id: 'comment', type: 'string', maxLength: 200 },
      { id: 'discount', type: 'number', min: 0, max: 30 },
      { id: 'level', type: 'enum', values: ['gold', 'silver'], required: true },
      { id: 'startOn', type: 'date', label: 'Start on' },
    ];
    const reading = formFieldsFromSchema(schemaFromFormFields(fields));
    expect(reading.problems).toEqual([]);
    // a field without a label gets its id as the label, so the form shows something
    expect(reading.fields).toEqual(fields.map((field) => ({ ...field, label: field.label ?? field.id })));
  });

  it('in a model, become the user task form the completion validator checks', async () => {
    const { model, problems } = await parseBpmn(taskWithForm(cdata(approvalForm)));
    expect(problems).toEqual([]);
    expect(model!.nodes.approve).toMatchObject({ type: 'userTask', form: formFieldsFromSchema(approvalForm).fields });
  });

  it('in a model, refuse a form that cannot be checked, or one declared twice over, naming the task', async () => {
    const bad = await parseBpmn(taskWithForm(cdata({ components: [{ type: 'taglist', key: 'tags' }] })));
    expect(bad.problems).toEqual([expect.objectContaining({ elementId: 'approve', code: 'INVALID_ATTRIBUTE', message: expect.stringContaining('"tags" is a "taglist"') })]);

    const both = await parseBpmn(taskWithForm(`${cdata(approvalForm)}<kf:formField id="extra" type="string"/>`));
    expect(both.problems).toEqual([expect.objectContaining({ elementId: 'approve', code: 'INVALID_ATTRIBUTE', message: expect.stringContaining('both a designed form') })]);

    const notJson = await parseBpmn(taskWithForm('<kf:formDefinition>{ oops</kf:formDefinition>'));
    expect(notJson.problems).toEqual([expect.objectContaining({ elementId: 'approve', message: expect.stringContaining('not JSON') })]);
  });
});
