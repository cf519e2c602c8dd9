/**
 * The executable decision model: what the DMN parser produces from DMN 1.3 XML (outside the
 * sandbox, at deploy) and what the evaluator reads. Plain JSON, so a process model that uses a
 * decision carries it in its Temporal input, and an instance keeps the exact table it pinned.
 *
 * Cells are FEEL strings: input expressions and output entries are expressions, input entries are
 * unary tests (`-`, `< 10`, `[1..5]`, `"a","b"`, `not("x")`). An empty input entry means `-`; an
 * empty output entry yields null.
 */

/**
 * One deployed decision with everything it needs: `decisions` holds the decision named by `key`
 * and every decision it requires, directly or through others (its decision requirements graph).
 */
export interface DecisionGraph {
  /** The DMN decision id: the decision definition key (`complaint-routing`). */
  key: string;
  name?: string;
  /** Assigned at deploy; 0 for a graph that was never deployed (tests, the evaluate route). */
  version: number;
  /** The DMN `definitions` id of the document it was deployed from. */
  definitionsId: string;
  decisions: Record<string, Decision>;
}

export interface Decision {
  id: string;
  name?: string;
  /**
   * The name its result goes by: in the decisions that require it, and in the result of a table
   * with several outputs. DMN's `variable name`, else the decision's name, else its id.
   */
  variableName: string;
  /** Ids of the decisions whose results this one reads (`informationRequirement/requiredDecision`). */
  requires: string[];
  logic: DecisionTable | LiteralExpressionLogic;
}

export const hitPolicies = ['UNIQUE', 'FIRST', 'PRIORITY', 'ANY', 'COLLECT', 'RULE ORDER', 'OUTPUT ORDER'] as const;
export type HitPolicy = (typeof hitPolicies)[number];

export const aggregations = ['SUM', 'MIN', 'MAX', 'COUNT'] as const;
export type Aggregation = (typeof aggregations)[number];

/** FEEL type names Keyflow checks cells against; any other `typeRef` is carried but not checked. */
export type TypeRef = 'string' | 'number' | 'boolean' | 'date' | 'time' | 'dateTime' | 'duration' | 'any';

export interface DecisionTable {
  kind: 'table';
  /** The `decisionTable` element id. */
  id: string;
  hitPolicy: HitPolicy;
  /** Only with COLLECT. */
  aggregation?: Aggregation;
  inputs: DecisionInput[];
  outputs: DecisionOutput[];
  rules: DecisionRule[];
}

export interface DecisionInput {
  id: string;
  label?: string;
  /** FEEL expression evaluated against the variables; its value is what the column's unary tests see. */
  expression: string;
  typeRef?: string;
  /** Allowed values as unary tests (`inputValues`), when given. */
  allowedValues?: string;
}

export interface DecisionOutput {
  id: string;
  /** The output's name in the result; required when a table has more than one output. */
  name?: string;
  label?: string;
  typeRef?: string;
  /**
   * `outputValues`, in order of priority (first is highest), as literal FEEL values. PRIORITY and
   * OUTPUT ORDER rank matched rules by them; any other hit policy only checks entries against them.
   */
  allowedValues?: unknown[];
  /** The FEEL text of the allowed values, for display. */
  allowedValuesText?: string;
  /** FEEL expression yielded when no rule matched (DMN `defaultOutputEntry`). */
  defaultValue?: string;
}

export interface DecisionRule {
  id: string;
  description?: string;
  /** One unary test per input, in input order. */
  inputEntries: string[];
  /** One FEEL expression per output, in output order. */
  outputEntries: string[];
}

export interface LiteralExpressionLogic {
  kind: 'literal';
  id: string;
  expression: string;
  typeRef?: string;
}
