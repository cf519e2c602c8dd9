import { ApplicationFailure, condition, patched, setHandler } from '@temporalio/workflow';
import { unmappedNodesRejection, updateRejections, type ProcessInstanceState, type Variables } from '../contracts';
import { undeclaredFields, validateFormData } from '../forms';
import { completeTaskUpdate, definitionQuery, messageSignal, migrateInstanceUpdate, moveTokenUpdate, resolveIncidentUpdate, retryIncidentUpdate, stateQuery } from '../handles';
import type { ResumedToken } from '../engine-state';
import { isEventSubprocess, type UserTask } from '../model';
import { patches } from '../patches';
import type { Engine } from './engine';
import { invalidInput } from './failures';
import { isActivityNode } from './graph';
import type { IncidentEntry } from './types';
import { isPlainObject } from './values';

/**
 * The instance's doors: messages and signals in, task completions, incident retry and resolve,
 * token moves and migrations (updates, each with a validator that refuses without changing
 * anything), and the state and definition queries.
 */
export function installHandlers(engine: Engine): void {
  const { state } = engine;
  setHandler(stateQuery, () => describe(engine));
  setHandler(definitionQuery, () => ({ key: state.model.key, version: state.model.version }));

  setHandler(messageSignal, (message) => {
    if (!message || typeof message.name !== 'string') return;
    if (message.signal === true) {
      // A broadcast's retried delivery carries the same id: the instance takes it once.
      if (typeof message.messageId === 'string' && patched(patches.signalIds) && !engine.subscriptions.firstSight(message.messageId)) return;
      engine.subscriptions.broadcast(message);
      return;
    }
    if (typeof message.messageId === 'string' && !engine.subscriptions.firstSight(message.messageId)) return;
    engine.subscriptions.deliver(message);
  });

  setHandler(
    completeTaskUpdate,
    async (input) => {
      // Validators do not run on replay: never assume what the validator checked.
      await condition(() => state.openTasks.has(input.taskId) || state.completedTaskIds.has(input.taskId));
      const entry = state.openTasks.get(input.taskId);
      if (entry && !entry.completion) entry.completion = { taskId: input.taskId, variables: formVariables(entry.node, input.variables ?? {}), completedBy: input.completedBy };
    },
    {
      validator: (input) => {
        if (!input || typeof input.taskId !== 'string' || typeof input.completedBy !== 'string' || (input.variables !== undefined && !isPlainObject(input.variables))) {
          throw ApplicationFailure.create({ type: updateRejections.invalidInput, message: 'completeTask needs { taskId, variables, completedBy }', nonRetryable: true });
        }
        const entry = state.openTasks.get(input.taskId);
        if (state.completedTaskIds.has(input.taskId) || entry?.completion) {
          throw ApplicationFailure.create({ type: updateRejections.taskAlreadyCompleted, message: `task ${input.taskId} is already completed`, nonRetryable: true });
        }
        const node = entry?.node ?? resumedTaskNode(engine, input.taskId);
        if (!node) throw ApplicationFailure.create({ type: updateRejections.taskNotFound, message: `no open task ${input.taskId} in this instance`, nonRetryable: true });
        // A task with a form takes only its fields; one without keeps taking any variables (engine callers, not people).
        const undeclared = node.form?.length ? undeclaredFields(node.form, input.variables ?? {}) : [];
        const problems = [...undeclared, ...validateFormData(node.form, input.variables ?? {})];
        if (problems.length > 0) {
          throw ApplicationFailure.create({
            type: updateRejections.taskFormInvalid,
            message: `form data does not fit task ${input.taskId}: ${problems.map((problem) => `${problem.field} ${problem.message}`).join('; ')}`,
            details: [problems],
            nonRetryable: true,
          });
        }
      },
    },
  );

  const findIncident = (incidentId: unknown): IncidentEntry => {
    const entry = typeof incidentId === 'string' ? state.incidents.get(incidentId) : undefined;
    if (!entry || entry.resolution) throw ApplicationFailure.create({ type: updateRejections.incidentNotFound, message: `no open incident ${String(incidentId)}`, nonRetryable: true });
    return entry;
  };
  const incidentInput = { validator: (input: { incidentId: string; variables?: Variables }) => {
    findIncident(input?.incidentId);
    if (input.variables !== undefined && !isPlainObject(input.variables)) throw invalidInput('variables must be an object');
  } };
  setHandler(
    retryIncidentUpdate,
    async (input) => {
      await condition(() => state.incidents.has(input.incidentId));
      findIncident(input.incidentId).resolution = { kind: 'retry', variables: input.variables };
    },
    incidentInput,
  );
  setHandler(
    resolveIncidentUpdate,
    async (input) => {
      await condition(() => state.incidents.has(input.incidentId));
      findIncident(input.incidentId).resolution = { kind: 'resolve', variables: input.variables ?? {} };
    },
    incidentInput,
  );

  const movableAt = (nodeId: string) => [...state.liveTokens.values()].filter((token) => token.nodeId === nodeId && token.stepScope && !token.compensating);
  setHandler(
    moveTokenUpdate,
    async (input) => {
      await condition(() => movableAt(input.fromNodeId).length > 0);
      if (input.variables) engine.variables.merge(input.variables, undefined);
      const tokens = movableAt(input.fromNodeId);
      for (const token of tokens) {
        token.moveTo = input.toNodeId;
        token.stepScope!.cancel();
      }
      return { movedTokens: tokens.length };
    },
    {
      validator: (input) => {
        if (!input || typeof input.fromNodeId !== 'string' || typeof input.toNodeId !== 'string') throw invalidInput('moveToken needs { fromNodeId, toNodeId }');
        if (input.variables !== undefined && !isPlainObject(input.variables)) throw invalidInput('variables must be an object');
        const from = state.model.nodes[input.fromNodeId];
        const to = state.model.nodes[input.toNodeId];
        if (!from || movableAt(input.fromNodeId).length === 0) throw ApplicationFailure.create({ type: updateRejections.tokenNotFound, message: `no movable token at ${input.fromNodeId}`, nonRetryable: true });
        if (!to || to.parentId !== from.parentId || to.type === 'boundaryEvent' || isEventSubprocess(to) || (isActivityNode(to) && to.isForCompensation)) {
          throw ApplicationFailure.create({ type: updateRejections.nodeNotFound, message: `${input.toNodeId} is not a node a token can move to from ${input.fromNodeId}`, nonRetryable: true });
        }
      },
    },
  );

  setHandler(
    migrateInstanceUpdate,
    async (input) => {
      // Recorded as a marker the first time an instance migrates; replays of older histories never reach here.
      patched(patches.migrateInstance);
      // Validators are skipped on replay, where the update may arrive in the activation before its
      // tokens settled into their steps: wait for them as the accepted update once found them.
      await condition(() => [...state.liveTokens.values()].every((token) => token.stepScope && !token.compensating));
      const fromVersion = state.model.version;
      state.model = input.definition;
      state.input = { ...state.input, definition: input.definition };
      engine.graph.repin(input.definition);
      state.activityOptions.clear();
      const tokens = [...state.liveTokens.values()];
      for (const token of tokens) {
        const target = input.nodeMapping[token.nodeId];
        if (target === undefined || !token.stepScope) continue;
        token.moveTo = target;
        token.stepScope.cancel();
      }
      engine.index.indexIdentity();
      return { fromVersion, toVersion: input.definition.version, movedTokens: tokens.length };
    },
    {
      validator: (input) => {
        if (!input || !isPlainObject(input.definition) || !isPlainObject(input.nodeMapping)) throw invalidInput('migrateInstance needs { definition, nodeMapping }');
        const model = input.definition;
        if (model.key !== state.model.key || !isPlainObject(model.nodes)) throw invalidInput(`the new definition must be a version of ${state.model.key}`);
        const tokens = [...state.liveTokens.values()];
        const unmapped = [...new Set(tokens.map((token) => token.nodeId).filter((nodeId) => typeof input.nodeMapping[nodeId] !== 'string'))];
        if (unmapped.length > 0) {
          throw ApplicationFailure.create({
            type: unmappedNodesRejection,
            message: `active node(s) without a mapping: ${unmapped.join(', ')}`,
            details: [unmapped],
            nonRetryable: true,
          });
        }
        for (const token of tokens) {
          const target = model.nodes[input.nodeMapping[token.nodeId]!];
          if (!target || target.parentId !== undefined || target.type === 'boundaryEvent') {
            throw invalidInput(`${token.nodeId} is mapped to ${input.nodeMapping[token.nodeId]}, which is not a top-level node of version ${model.version}`);
          }
          if (token.scope !== state.root || !token.stepScope || token.compensating) {
            throw invalidInput(`the token at ${token.nodeId} cannot be migrated (inside a sub-process or compensating)`);
          }
        }
      },
    },
  );
}

/** What the state query answers. */
function describe(engine: Engine): ProcessInstanceState {
  const { state } = engine;
  return {
    processKey: state.model.key,
    processVersion: state.model.version,
    businessKey: state.input.businessKey,
    status: state.status,
    activeNodes: [...state.liveTokens.values()].map((token) => ({
      tokenId: token.id,
      nodeId: token.nodeId,
      since: token.since,
      phase: token.phase,
      ...(token.loopCounter ? { loopCounter: token.loopCounter } : {}),
    })),
    completedNodes: [...state.completedNodes],
    variables: state.vars,
    incidents: [...state.incidents.values()].map((entry) => entry.incident),
    openTasks: [...state.openTasks.values()].filter((entry) => !entry.completion).map((entry) => entry.task),
    ...(state.decisions.length > 0 ? { decisions: [...state.decisions] } : {}),
  };
}

/**
 * A task carried over by continue-as-new whose token has not re-registered it yet: a completion
 * arriving in the new run's first activation is valid (the handler waits for the token).
 */
function resumedTaskNode(engine: Engine, taskId: string): UserTask | undefined {
  const { state } = engine;
  const find = (tokens: ResumedToken[]): ResumedToken | undefined => {
    for (const token of tokens) {
      if (token.kind === 'userTask' && token.task.taskId === taskId) return token;
      const inside = token.kind === 'subProcess' ? find(token.tokens) : token.kind === 'multiInstance' ? find(token.iterations.map((iteration) => iteration.body)) : undefined;
      if (inside) return inside;
    }
    return undefined;
  };
  const carried = find(state.input.resume?.tokens ?? []);
  const node = carried ? state.model.nodes[carried.nodeId] : undefined;
  return node?.type === 'userTask' ? node : undefined;
}

/** The completion's variables a task may write: with a form, its fields only. */
function formVariables(node: UserTask, variables: Variables): Variables {
  if (!node.form?.length || !patched(patches.completionFormFieldsOnly)) return variables;
  const declared = new Set(node.form.map((field) => field.id));
  return Object.fromEntries(Object.entries(variables).filter(([key]) => declared.has(key)));
}
