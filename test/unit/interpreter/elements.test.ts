import path from 'node:path';
import { execute, needsStepScope, step } from '../../../workflows/interpreter/elements/registry';
import { NoPathError } from '../../../workflows/interpreter/failures';
import type { Activity, ProcessModel } from '../../../workflows/model';
import { fakeEngine, readFixture, scope, tokenAt } from '../../support/fake-engine-context';

const fixture = (name: string) => readFixture(path.join(__dirname, 'fixtures', name));

describe('element processors, on models read by the parser', () => {
  let routing: ProcessModel;
  let events: ProcessModel;
  beforeAll(async () => {
    routing = await fixture('routing.bpmn');
    events = await fixture('events.bpmn');
  });

  describe('exclusive gateway', () => {
    it('takes the first flow whose condition holds', async () => {
      const engine = fakeEngine(routing, { score: 201 });
      expect(await step(engine, tokenAt('route'), routing.nodes.route!)).toEqual(['big']);
    });

    it('takes the default flow when no condition holds', async () => {
      const engine = fakeEngine(routing, { score: 10 });
      expect(await step(engine, tokenAt('route'), routing.nodes.route!)).toEqual(['small']);
    });

    it('fails with NoPathError when nothing holds and there is no default (an incident, not a guess)', async () => {
      const withoutDefault: ProcessModel = {
        ...routing,
        nodes: { ...routing.nodes, route: { ...routing.nodes.route!, defaultFlowId: undefined } as never },
        flows: { ...routing.flows, small: { ...routing.flows.small!, condition: '=score < 0' } },
      };
      const engine = fakeEngine(withoutDefault, { score: 10 });
      await expect(step(engine, tokenAt('route'), withoutDefault.nodes.route!)).rejects.toBeInstanceOf(NoPathError);
    });
  });

  describe('parallel gateway', () => {
    it('splits into every outgoing flow', async () => {
      const engine = fakeEngine(routing);
      expect(await step(engine, tokenAt('fork'), routing.nodes.fork!)).toEqual(['left', 'right']);
    });

    it('absorbs the first arrival and lets the last one through', async () => {
      const engine = fakeEngine(routing);
      const shared = scope();
      expect(await step(engine, tokenAt('join', shared, { viaFlow: 'left' }), routing.nodes.join!)).toBeNull();
      expect(await step(engine, tokenAt('join', shared, { viaFlow: 'right' }), routing.nodes.join!)).toEqual(['joined']);
    });

    it('counts a second arrival on the same flow towards the next join, not this one', async () => {
      const engine = fakeEngine(routing);
      const shared = scope();
      expect(await step(engine, tokenAt('join', shared, { viaFlow: 'left' }), routing.nodes.join!)).toBeNull();
      expect(await step(engine, tokenAt('join', shared, { viaFlow: 'left' }), routing.nodes.join!)).toBeNull();
      expect(await step(engine, tokenAt('join', shared, { viaFlow: 'right' }), routing.nodes.join!)).toEqual(['joined']);
      expect(await step(engine, tokenAt('join', shared, { viaFlow: 'right' }), routing.nodes.join!)).toEqual(['joined']);
    });
  });

  describe('inclusive gateway', () => {
    it('takes every flow whose condition holds', async () => {
      const engine = fakeEngine(routing, { channels: { sms: true, mail: true } });
      expect(await step(engine, tokenAt('choose'), routing.nodes.choose!)).toEqual(['sms', 'mail']);
    });

    it('takes only the ones that hold', async () => {
      const engine = fakeEngine(routing, { channels: { sms: false, mail: true } });
      expect(await step(engine, tokenAt('choose'), routing.nodes.choose!)).toEqual(['mail']);
    });
  });

  describe('script and plain tasks', () => {
    it('runs a script task’s assignments in order, each seeing the ones before', async () => {
      const engine = fakeEngine(routing, { amount: 100 });
      await execute(engine, tokenAt('score'), routing.nodes.score as Activity, { loopCounter: 0, execution: 0 });
      expect(engine.state.vars.score).toBe(201);
    });

    it('writes a plain task’s outputs and counts the write for conditional events', async () => {
      const engine = fakeEngine(routing);
      await execute(engine, tokenAt('note'), routing.nodes.note as Activity, { loopCounter: 0, execution: 0 });
      expect(engine.state.vars.remark).toBe('small order');
      expect(engine.state.variableVersion).toBe(1);
    });

    it('writes into the iteration’s locals as well inside a multi-instance', async () => {
      const engine = fakeEngine(routing, { amount: 1 });
      const locals = { loopCounter: 2 };
      await execute(engine, tokenAt('score'), routing.nodes.score as Activity, { locals, loopCounter: 2, execution: 1 });
      expect(locals).toEqual({ loopCounter: 2, score: 3 });
    });
  });

  describe('events', () => {
    it('ends a path at an end event after throwing its definition', async () => {
      const engine = fakeEngine(events);
      expect(await step(engine, tokenAt('end'), events.nodes.end!)).toEqual([]);
      expect(engine.thrown).toEqual([{ kind: 'none' }]);
    });

    it('stops the thrower of an escalation an interrupting catcher took', async () => {
      const engine = fakeEngine(events);
      engine.throwAnswer = false;
      expect(await step(engine, tokenAt('raise'), events.nodes.raise!)).toBeNull();
      expect(engine.thrown).toEqual([{ kind: 'escalation', escalationCode: 'LATE' }]);
    });

    it('maps what a boundary event caught through its outputs', async () => {
      const engine = fakeEngine(events);
      const token = tokenAt('onLate', scope(), { fired: { escalation: { escalationCode: 'LATE' } } });
      expect(await step(engine, token, events.nodes.onLate!)).toEqual(['f4']);
      expect(engine.state.vars.why).toBe('LATE');
    });

    it('hands an event sub-process start the variables that started it', async () => {
      const engine = fakeEngine(events);
      const token = tokenAt('start', scope(), { fired: { variables: { reason: 'customer called' } } });
      expect(await step(engine, token, events.nodes.start!)).toEqual(['f1']);
      expect(engine.state.vars.reason).toBe('customer called');
      expect(token.fired).toBeUndefined();
    });
  });

  it('gives waiting elements a step scope of their own and passing ones none', () => {
    expect(needsStepScope(routing.nodes.route!)).toBe(false);
    expect(needsStepScope(routing.nodes.fork!)).toBe(false);
    expect(needsStepScope(routing.nodes.start!)).toBe(false);
    expect(needsStepScope(routing.nodes.choose!)).toBe(true);
    expect(needsStepScope(routing.nodes.score!)).toBe(true);
    expect(needsStepScope(events.nodes.raise!)).toBe(true);
  });

  it('answers a processor that throws at once with a rejected promise, as the interpreter’s async step did', async () => {
    const broken: ProcessModel = { ...routing, flows: { ...routing.flows, big: { ...routing.flows.big!, condition: '=score >' } } };
    const result = step(fakeEngine(broken, { score: 1 }), tokenAt('route'), broken.nodes.route!);
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toThrow();
  });
});
