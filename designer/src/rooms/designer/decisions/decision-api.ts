import { api } from '../../../api/client';

export interface DecisionSummary {
  key: string;
  version: number;
  name: string | null;
  definitionsId: string;
  deployedBy: string;
  deployedAt: string;
}

export interface DecisionDetail extends DecisionSummary {
  xml: string;
}

/** One problem of a DMN document, by the id of its element (decision, rule, input, cell). */
export interface DecisionProblem {
  elementId: string;
  code: string;
  message: string;
}

export interface DecisionEvaluation {
  decisionKey: string;
  version: number;
  result: unknown;
  matchedRuleIds: string[];
  decisions: { decisionId: string; name?: string; kind: 'table' | 'literal'; hitPolicy?: string; matchedRuleIds: string[]; resultRuleIds: string[]; inputs: Record<string, unknown>; result: unknown }[];
}

export const loadDecision = (key: string, version?: number) =>
  api<DecisionDetail>(version ? `/api/decision-definitions/${encodeURIComponent(key)}/versions/${version}` : `/api/decision-definitions/${encodeURIComponent(key)}`);

export const deployDecisions = (xml: string) =>
  api<{ definitionsId: string; decisions: (DecisionSummary & { created: boolean })[] }>('/api/decision-definitions', { method: 'POST', body: xml, contentType: 'application/xml' });

export const evaluateDeployed = (key: string, variables: Record<string, unknown>) =>
  api<DecisionEvaluation>(`/api/decision-definitions/${encodeURIComponent(key)}/evaluate`, { method: 'POST', body: { variables } });

/** A new document: one decision table, one input and one output, as a designer starts from. */
export function blankDecisionXml(id: string, name: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/" xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/" id="${id}-definitions" name="${name}" namespace="http://keyflow.dev/decisions">
  <decision id="${id}" name="${name}">
    <decisionTable id="${id}-table" hitPolicy="UNIQUE">
      <input id="${id}-input-1" label="Input"><inputExpression id="${id}-input-1-expression" typeRef="string"><text>input</text></inputExpression></input>
      <output id="${id}-output-1" label="Output" name="output" typeRef="string" />
    </decisionTable>
  </decision>
  <dmndi:DMNDI><dmndi:DMNDiagram id="${id}-diagram"><dmndi:DMNShape id="${id}-shape" dmnElementRef="${id}"><dc:Bounds height="80" width="180" x="160" y="100" /></dmndi:DMNShape></dmndi:DMNDiagram></dmndi:DMNDI>
</definitions>
`;
}
