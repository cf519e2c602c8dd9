/** A problem the API reported for a model, keyed by the element it is about. */
export interface ServerProblem {
  elementId: string;
  code: string;
  message: string;
}

/**
 * Shows the server's problem list on the diagram (a red marker and a badge with the messages on
 * each element; problems of elements without a shape go on the root), the way the linter shows
 * its own. The marks stay until the model changes or a new list arrives.
 */
export class ServerProblems {
  static $inject = ['eventBus', 'overlays', 'elementRegistry', 'canvas'];
  private marked: string[] = [];
  private problems: ServerProblem[] = [];

  constructor(
    private readonly eventBus: any,
    private readonly overlays: any,
    private readonly elementRegistry: any,
    private readonly canvas: any,
  ) {
    eventBus.on(['commandStack.changed', 'import.done'], () => this.show([]));
  }

  list(): readonly ServerProblem[] {
    return this.problems;
  }

  /** The shape a problem is shown on: its element's, or the root's when it has none. */
  shapeOf(problem: ServerProblem): any {
    return this.elementRegistry.get(problem.elementId) ?? this.canvas.getRootElement();
  }

  show(problems: readonly ServerProblem[]): void {
    for (const id of this.marked) if (this.elementRegistry.get(id)) this.canvas.removeMarker(id, 'kf-server-problem');
    this.overlays.remove({ type: 'kf-server-problem' });
    this.marked = [];
    this.problems = [...problems];
    const byShape = new Map<any, ServerProblem[]>();
    for (const problem of problems) {
      const shape = this.shapeOf(problem);
      byShape.set(shape, [...(byShape.get(shape) ?? []), problem]);
    }
    for (const [shape, own] of byShape) {
      const root = shape === this.canvas.getRootElement();
      if (!root) {
        this.canvas.addMarker(shape.id, 'kf-server-problem');
        this.marked.push(shape.id);
        const badge = document.createElement('div');
        badge.className = 'kf-server-problem-badge';
        badge.textContent = String(own.length);
        badge.title = own.map((problem) => `${problem.message} [${problem.code}]`).join('\n');
        badge.setAttribute('role', 'img');
        badge.setAttribute('aria-label', badge.title);
        this.overlays.add(shape.id, 'kf-server-problem', { position: { top: -10, left: -10 }, html: badge });
      }
    }
    this.eventBus.fire('serverProblems.changed', { problems: this.problems });
  }
}

export const serverProblemsModule = {
  __init__: ['serverProblems'],
  serverProblems: ['type', ServerProblems],
};
