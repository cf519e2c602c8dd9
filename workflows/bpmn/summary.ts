import type { ProcessModel } from '../model';

/** What a designer or an ops screen wants to know about a definition without reading its XML. */
export interface ModelSummary {
  nodes: { id: string; type: string; name?: string; parentId?: string }[];
  tasks: { id: string; type: 'serviceTask' | 'userTask' | 'scriptTask' | 'businessRuleTask' | 'receiveTask' | 'callActivity'; name?: string; detail: Record<string, unknown> }[];
  messages: { id: string; name: string; caughtBy: string[] }[];
  startForm?: ProcessModel['startForm'];
  /** The roles that may start it by hand; empty: only the system starts it. */
  starters: NonNullable<ProcessModel['starters']>;
}

export function summariseModel(model: ProcessModel): ModelSummary {
  const nodes = Object.values(model.nodes);
  const tasks: ModelSummary['tasks'] = [];
  for (const node of nodes) {
    const base = { id: node.id, ...(node.name ? { name: node.name } : {}) };
    switch (node.type) {
      case 'serviceTask':
        tasks.push({ ...base, type: node.type, detail: { taskType: node.taskType, retries: node.retries, timeout: node.timeout } });
        break;
      case 'userTask':
        tasks.push({ ...base, type: node.type, detail: { candidateGroups: node.candidateGroups, assignee: node.assignee, dueDate: node.dueDate, formKey: node.formKey, form: node.form } });
        break;
      case 'scriptTask':
        tasks.push({ ...base, type: node.type, detail: { assignments: node.assignments } });
        break;
      case 'businessRuleTask':
        tasks.push({
          ...base,
          type: node.type,
          detail: { decisionRef: node.decisionRef, decisionVersion: node.decision?.version ?? node.decisionVersion ?? 'latest', resultVariable: node.resultVariable },
        });
        break;
      case 'receiveTask':
        tasks.push({ ...base, type: node.type, detail: { messageRef: node.messageRef, correlationKey: node.correlationKey } });
        break;
      case 'callActivity':
        tasks.push({ ...base, type: node.type, detail: { calledElement: node.calledElement, calledVersion: node.calledVersion ?? 'latest' } });
        break;
    }
  }
  const messages = Object.values(model.messages).map((message) => ({
    id: message.id,
    name: message.name,
    caughtBy: nodes
      .filter((node) => (node.type === 'receiveTask' && node.messageRef === message.id) || ('event' in node && node.event.kind === 'message' && node.event.messageRef === message.id))
      .map((node) => node.id),
  }));
  return {
    nodes: nodes.map((node) => ({ id: node.id, type: node.type, ...(node.name ? { name: node.name } : {}), ...(node.parentId ? { parentId: node.parentId } : {}) })),
    tasks,
    messages,
    ...(model.startForm ? { startForm: model.startForm } : {}),
    starters: model.starters ?? [],
  };
}
