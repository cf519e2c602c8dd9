import { stableStringify } from '../../../sim/app';
import { createRandom, FaultStore, faultUpdate } from '../../../sim/faults';
import { smsSegments } from '../../../sim/systems';

describe('simulator fault settings', () => {
  it('merge from *, then the system, then the operation, field by field', () => {
    const faults = new FaultStore();
    faults.update({ '*': { latencyMs: 300, errorRate: 0.3 }, 'provisioning.*': { errorRate: 0.5 }, 'provisioning.activate': { timeoutRate: 0.1 } });

    expect(faults.resolve('provisioning.activate')).toMatchObject({ latencyMs: 300, errorRate: 0.5, timeoutRate: 0.1 });
    expect(faults.resolve('provisioning.reserve')).toMatchObject({ latencyMs: 300, errorRate: 0.5, timeoutRate: 0 });
    expect(faults.resolve('bank.registerPaymentReference')).toMatchObject({ latencyMs: 300, errorRate: 0.3 });
  });

  it('count down failNext on the most specific key that has some left', () => {
    const faults = new FaultStore();
    faults.update({ '*': { failNext: 1 }, 'notify.sendSms': { failNext: 1 } });

    expect([faults.take('notify.sendSms', 'failNext'), faults.take('notify.sendSms', 'failNext'), faults.take('notify.sendSms', 'failNext')]).toEqual([true, true, false]);
    expect(faults.snapshot()).toEqual({ '*': { failNext: 0 }, 'notify.sendSms': { failNext: 0 } });
  });

  it('clear a key with an empty object', () => {
    const faults = new FaultStore();
    faults.update({ '*': { outage: true } });
    faults.update({ '*': {} });
    expect(faults.resolve('bank.registerPaymentReference').outage).toBe(false);
  });

  it('refuse unknown settings, rates outside 0..1 and malformed keys', () => {
    expect(faultUpdate.safeParse({ '*': { errorRate: 1.5 } }).success).toBe(false);
    expect(faultUpdate.safeParse({ '*': { explode: true } }).success).toBe(false);
    expect(faultUpdate.safeParse({ 'provisioning activate': {} }).success).toBe(false);
    expect(faultUpdate.safeParse({ 'provisioning.*': { errorStatuses: [404] } }).success).toBe(false);
    expect(faultUpdate.safeParse({ 'provisioning.*': { errorStatuses: [429, 503], retryAfterSeconds: 2 } }).success).toBe(true);
  });

  it('draw the same faults from the same seed', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const drawn = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(drawn);
    expect(drawn.every((value) => value >= 0 && value < 1)).toBe(true);
    expect(new Set(drawn).size).toBe(5);
  });
});

describe('simulator helpers', () => {
  it('hash equal requests equally whatever their key order', () => {
    expect(stableStringify({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } })).toBe(stableStringify({ a: { c: null, d: [1, { e: 3, f: 2 }] }, b: 1 }));
    expect(stableStringify({ a: 1, b: undefined })).toBe(stableStringify({ a: 1 }));
  });

  it.each([
    ['Your service is active.', 1],
    ['x'.repeat(160), 1],
    ['x'.repeat(161), 2],
    ['开'.repeat(70), 1],
    ['开'.repeat(71), 2],
    ['开'.repeat(135), 3],
  ])('counts SMS segments of %j as %i', (text, segments) => {
    expect(smsSegments(text)).toBe(segments);
  });
});

describe('the simulator baseline', () => {
  it('applies under every key, yields to fault settings and survives clearing them', () => {
    const faults = new FaultStore({ duplicateCallbackRate: 0.05 });
    expect(faults.resolve('provisioning.activate').duplicateCallbackRate).toBe(0.05);
    faults.update({ 'provisioning.activate': { duplicateCallbackRate: 1 } });
    expect(faults.resolve('provisioning.activate').duplicateCallbackRate).toBe(1);
    faults.clear();
    expect(faults.resolve('provisioning.activate').duplicateCallbackRate).toBe(0.05);
  });
});
