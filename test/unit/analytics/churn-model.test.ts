import { churnFeatures, churnProbability, contributions, fitChurnModel, isHeldOut, precisionAtTop, rocAuc, type FeatureVector } from '../../../activities/analytics/churn-model';

const zero: FeatureVector = Object.fromEntries(churnFeatures.map((feature) => [feature, 0])) as FeatureVector;

describe('the churn model', () => {
  it('computes the AUC as the share of leaver–stayer pairs ranked right, ties counting half', () => {
    // pairs (leaver, stayer): (0.9, 0.1) right, (0.9, 0.5) right, (0.5, 0.1) right, (0.5, 0.5) tie
    expect(rocAuc([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0])).toBe(3.5 / 4);
    expect(rocAuc([0.1, 0.9], [1, 0])).toBe(0);
    expect(() => rocAuc([0.1, 0.2], [0, 0])).toThrow(RangeError);
  });

  it('takes the precision of the top decile from the highest scores', () => {
    const scores = Array.from({ length: 20 }, (_, index) => index / 20);
    const labels = scores.map((_, index) => (index === 19 ? 1 : 0));
    // the top 2 of 20 are 0.95 (a leaver) and 0.90 (a stayer)
    expect(precisionAtTop(scores, labels)).toBe(0.5);
  });

  it('learns that a falling revenue trend raises the risk, and says which factor drove a score', () => {
    // Leavers are exactly the accounts whose revenue fell by more than 10 %, plus noise in complaints.
    const rows: FeatureVector[] = [];
    const labels: number[] = [];
    for (let i = 0; i < 400; i += 1) {
      const revenueTrend = -0.3 + (i % 40) / 66;
      rows.push({ ...zero, revenueTrend, complaints: i % 3 });
      labels.push(revenueTrend < -0.1 ? 1 : 0);
    }
    const model = fitChurnModel(rows, labels);
    const falling = { ...zero, revenueTrend: -0.25, complaints: 1 };
    const rising = { ...zero, revenueTrend: 0.25, complaints: 1 };
    expect(churnProbability(model, falling)).toBeGreaterThan(0.8);
    expect(churnProbability(model, rising)).toBeLessThan(0.2);
    expect(contributions(model, falling)[0]!.feature).toBe('revenueTrend');
    expect(rocAuc(rows.map((row) => churnProbability(model, row)), labels)).toBeGreaterThan(0.95);
  });

  it('holds the same accounts out every time, about the share asked for', () => {
    const ids = Array.from({ length: 5000 }, (_, index) => `KA${String(index).padStart(8, '0')}`);
    const held = ids.filter((id) => isHeldOut(id));
    expect(held.length / ids.length).toBeGreaterThan(0.27);
    expect(held.length / ids.length).toBeLessThan(0.33);
    expect(ids.filter((id) => isHeldOut(id))).toEqual(held);
  });
});
