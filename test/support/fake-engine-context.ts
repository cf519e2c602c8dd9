/**
 * An Engine for element processors outside a workflow: the real variable store and model graph
 * over a model read by the real parser, with the behaviours that would issue commands replaced by
 * recorders. Element semantics are tested against it in milliseconds; the workflow tests run the
 * same processors on Temporal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseBpmn } from '../../workflows/bpmn';
import type { Variables } from '../../workflows/contracts';
import type { EventDefinition, ProcessModel } from '../../workflows/model';
import type { Engine } from '../../workflows/interpreter/engine';
import { ModelGraph } from '../../workflows/interpreter/graph';
import type { InstanceState } from '../../workflows/interpreter/state';
import type { EventData, Scope, Token } from '../../workflows/interpreter/types';
import { VariableStore } from '../../workflows/interpreter/variable-store';

export async function readFixture(file: string): Promise<ProcessModel> {
  const result = await parseBpmn(fs.readFileSync(path.join(file), 'utf8'));
  if (!result.model || result.problems.length > 0) throw new Error(`fixture ${file} does not parse: ${JSON.stringify(result.problems)}`);
  return result.model;
}

export interface FakeEngine extends Engine {
  /** Every event thrown through `events.throw`, in order. */
  readonly thrown: EventDefinition[];
  /** What `events.throw` answers (false: an interrupting catch took the thrower). */
  throwAnswer: boolean;
}

export function fakeEngine(model: ProcessModel, variables: Variables = {}): FakeEngine {
  const state = { model, vars: { ...variables }, variableVersion: 0, completedNodes: [], counters: {}, input: { definition: model, businessKey: 'test', variables } } as unknown as InstanceState;
  const thrown: EventDefinition[] = [];
  const engine = {
    state,
    graph: new ModelGraph(model),
    variables: new VariableStore(state),
    thrown,
    throwAnswer: true,
    events: {
      throw: async (_token: Token, event: EventDefinition) => {
        thrown.push(event);
        return engine.throwAnswer;
      },
    },
  } as unknown as FakeEngine;
  return engine;
}

export function scope(overrides: Partial<Scope> = {}): Scope {
  return { id: 'root', subscriptions: new Map(), interrupted: false, tokens: new Set(), joins: new Map(), inclusiveLeaders: new Map(), terminated: false, ...overrides } as Scope;
}

export function tokenAt(nodeId: string, at: Scope = scope(), extra: { viaFlow?: string; fired?: EventData } = {}): Token {
  return { id: `t-${nodeId}`, nodeId, phase: 'active', scope: at, since: '2026-12-04T00:00:00.000Z', waits: 0, ...extra };
}
