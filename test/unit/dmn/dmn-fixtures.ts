/** Builds small DMN 1.3 documents for the specs: one decision table, or decisions given as XML. */
export interface TableSpec {
  id?: string;
  hitPolicy?: string;
  aggregation?: string;
  inputs: { id: string; expression: string; typeRef?: string; values?: string }[];
  outputs: { id: string; name?: string; typeRef?: string; values?: string; defaultValue?: string }[];
  rules: { id: string; in: string[]; out: string[] }[];
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function tableXml(spec: TableSpec, decisionId = spec.id ?? 'decision'): string {
  return dmnXml(decisionXml(spec, decisionId));
}

export function decisionXml(spec: TableSpec, decisionId = spec.id ?? 'decision', requirements = ''): string {
  const inputs = spec.inputs
    .map(
      (input) =>
        `<input id="${input.id}"><inputExpression id="${input.id}-e"${input.typeRef ? ` typeRef="${input.typeRef}"` : ''}><text>${escape(input.expression)}</text></inputExpression>${
          input.values ? `<inputValues id="${input.id}-v"><text>${escape(input.values)}</text></inputValues>` : ''
        }</input>`,
    )
    .join('');
  const outputs = spec.outputs
    .map(
      (output) =>
        `<output id="${output.id}"${output.name ? ` name="${output.name}"` : ''}${output.typeRef ? ` typeRef="${output.typeRef}"` : ''}>${
          output.values ? `<outputValues id="${output.id}-v"><text>${escape(output.values)}</text></outputValues>` : ''
        }${output.defaultValue ? `<defaultOutputEntry id="${output.id}-d"><text>${escape(output.defaultValue)}</text></defaultOutputEntry>` : ''}</output>`,
    )
    .join('');
  const rules = spec.rules
    .map(
      (rule) =>
        `<rule id="${rule.id}">${rule.in.map((entry, index) => `<inputEntry id="${rule.id}-i${index}"><text>${escape(entry)}</text></inputEntry>`).join('')}${rule.out
          .map((entry, index) => `<outputEntry id="${rule.id}-o${index}"><text>${escape(entry)}</text></outputEntry>`)
          .join('')}</rule>`,
    )
    .join('');
  return `<decision id="${decisionId}" name="${decisionId}">${requirements}<decisionTable id="${decisionId}-table" hitPolicy="${spec.hitPolicy ?? 'UNIQUE'}"${
    spec.aggregation ? ` aggregation="${spec.aggregation}"` : ''
  }>${inputs}${outputs}${rules}</decisionTable></decision>`;
}

export function dmnXml(body: string, id = 'test-definitions'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="${id}" name="Test" namespace="http://keyflow.dev/test">${body}</definitions>`;
}
