import type DmnModeler from 'dmn-js/lib/Modeler';

/**
 * dmn-js's modeler (decision requirements diagram, decision tables, literal expressions), loaded
 * only when a decision is opened: it is as large as the BPMN modeler and most visits never need it.
 */
export async function createDecisionModeler(container: HTMLElement): Promise<DmnModeler> {
  const [{ default: Modeler }] = await Promise.all([
    import('dmn-js/lib/Modeler'),
    import('dmn-js/dist/assets/diagram-js.css'),
    import('dmn-js/dist/assets/dmn-js-shared.css'),
    import('dmn-js/dist/assets/dmn-js-drd.css'),
    import('dmn-js/dist/assets/dmn-js-decision-table.css'),
    import('dmn-js/dist/assets/dmn-js-decision-table-controls.css'),
    import('dmn-js/dist/assets/dmn-js-literal-expression.css'),
    import('dmn-js/dist/assets/dmn-font/css/dmn-embedded.css'),
  ]);
  return new Modeler({ container });
}

/** The decision (table or literal expression) the view shows, or null for the diagram. */
export function decisionOfView(view: { type: string; element: { id: string; $type: string } } | undefined): string | null {
  return view && view.type !== 'drd' && view.element.$type === 'dmn:Decision' ? view.element.id : null;
}

/** The id of the decision that holds `elementId` (itself, a rule, an input, an output or a cell), if any. */
export function decisionHolding(definitions: any, elementId: string): string | null {
  for (const element of definitions?.drgElement ?? []) {
    if (element.$type !== 'dmn:Decision') continue;
    if (element.id === elementId) return element.id;
    const logic = element.decisionLogic;
    if (!logic) continue;
    if (logic.id === elementId) return element.id;
    const ids: string[] = [
      ...(logic.input ?? []).flatMap((input: any) => [input.id, input.inputExpression?.id]),
      ...(logic.output ?? []).map((output: any) => output.id),
      ...(logic.rule ?? []).flatMap((rule: any) => [rule.id, ...(rule.inputEntry ?? []).map((entry: any) => entry.id), ...(rule.outputEntry ?? []).map((entry: any) => entry.id)]),
    ];
    if (ids.includes(elementId)) return element.id;
  }
  return null;
}
