import { checkDefinitions } from '../../../../../../workflows/bpmn/parse';
import type { ModelProblem } from '../../../../../../workflows/bpmn/problems';

/**
 * Keyflow's bpmnlint plugin. Its one rule runs the server's own builder and validator
 * (`checkDefinitions`) over the modeler's moddle tree, so what is marked while drawing is exactly
 * what a deploy would refuse — one rule set, not a copy that drifts. Problems name their element;
 * the linter puts those of elements without a shape (the process, a message) on the root.
 */
export const keyflowRuleName = 'keyflow/deployable';

let knownTaskTypes: readonly string[] | undefined;

/** The `kf:type` values the worker runs; until the catalogue has loaded, types are not checked. */
export function setKnownTaskTypes(types: readonly string[]): void {
  knownTaskTypes = types;
}

/** The problems a deploy would report, as bpmnlint reports: { id, message }. */
export function lintMessage(problem: ModelProblem): string {
  return `${problem.message} [${problem.code}]`;
}

function deployableRule() {
  return {
    check(node: { $type: string }, reporter: { report(id: string, message: string): void }) {
      if (node.$type !== 'bpmn:Definitions') return;
      for (const problem of checkDefinitions(node as never, knownTaskTypes ? { knownTaskTypes } : {}).problems) {
        reporter.report(problem.elementId, lintMessage(problem));
      }
    },
  };
}

/** The packed config bpmn-js-bpmnlint takes (`linting.bpmnlint`): the rule set and its resolver. */
export const keyflowLintConfig = {
  config: { rules: { [keyflowRuleName]: 'error' } },
  resolver: {
    resolveRule(pkg: string, ruleName: string) {
      if (pkg === 'bpmnlint-plugin-keyflow' && ruleName === 'deployable') return deployableRule;
      throw new Error(`unknown lint rule ${pkg}/${ruleName}`);
    },
    resolveConfig(pkg: string, configName: string) {
      throw new Error(`unknown lint config ${pkg}/${configName}`);
    },
  },
};
