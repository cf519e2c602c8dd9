/**
 * The churn model: logistic regression over standardised features, fitted by batch gradient
 * descent with a small L2 penalty (deterministic: same data, same model), and the measures it is
 * judged by on a held-out set — the area under the ROC curve and the precision of the top decile.
 * Small and explainable on purpose: each account's top factors are its features' contributions
 * (coefficient × standardised value) to the log-odds.
 */

export const churnFeatures = ['usageTrend', 'revenueTrend', 'complaints', 'reopens', 'arrearsRatio', 'contractMonthsLeft', 'contactChanges'] as const;
export type ChurnFeature = (typeof churnFeatures)[number];
export type FeatureVector = Record<ChurnFeature, number>;

export interface ChurnModel {
  features: readonly ChurnFeature[];
  means: number[];
  sds: number[];
  intercept: number;
  coefficients: number[];
}

export interface FitOptions {
  iterations?: number;
  learningRate?: number;
  l2?: number;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Fits the model on feature vectors and their labels (1: left within the horizon). */
export function fitChurnModel(rows: readonly FeatureVector[], labels: readonly number[], options: FitOptions = {}): ChurnModel {
  if (rows.length === 0 || rows.length !== labels.length) throw new RangeError('fit needs as many labels as rows, and at least one');
  const features = churnFeatures;
  const k = features.length;
  const n = rows.length;
  const means = features.map((feature) => rows.reduce((sum, row) => sum + row[feature], 0) / n);
  const sds = features.map((feature, j) => Math.sqrt(rows.reduce((sum, row) => sum + (row[feature] - means[j]!) ** 2, 0) / n) || 1);
  const x = rows.map((row) => features.map((feature, j) => (row[feature] - means[j]!) / sds[j]!));
  const iterations = options.iterations ?? 800;
  const rate = options.learningRate ?? 0.5;
  const l2 = options.l2 ?? 0.001;
  let intercept = Math.log((labels.reduce((a, b) => a + b, 0) + 0.5) / (n - labels.reduce((a, b) => a + b, 0) + 0.5));
  const w = new Array<number>(k).fill(0);
  for (let iteration = 0; iteration < iterations; iteration += 1) {
    let gradIntercept = 0;
    const grad = new Array<number>(k).fill(0);
    for (let i = 0; i < n; i += 1) {
      const xi = x[i]!;
      let z = intercept;
      for (let j = 0; j < k; j += 1) z += w[j]! * xi[j]!;
      const error = sigmoid(z) - labels[i]!;
      gradIntercept += error;
      for (let j = 0; j < k; j += 1) grad[j]! += error * xi[j]!;
    }
    intercept -= (rate * gradIntercept) / n;
    for (let j = 0; j < k; j += 1) w[j] = w[j]! - rate * (grad[j]! / n + l2 * w[j]!);
  }
  return { features: [...features], means, sds, intercept, coefficients: w };
}

/** Each feature's contribution to the log-odds, largest first. */
export function contributions(model: ChurnModel, row: FeatureVector): { feature: ChurnFeature; value: number; contribution: number }[] {
  return model.features
    .map((feature, j) => ({ feature, value: row[feature], contribution: (model.coefficients[j]! * (row[feature] - model.means[j]!)) / model.sds[j]! }))
    .sort((a, b) => b.contribution - a.contribution);
}

/** The probability of leaving within the horizon. */
export function churnProbability(model: ChurnModel, row: FeatureVector): number {
  let z = model.intercept;
  model.features.forEach((feature, j) => {
    z += (model.coefficients[j]! * (row[feature] - model.means[j]!)) / model.sds[j]!;
  });
  return sigmoid(z);
}

/** Area under the ROC curve: the chance a random leaver scores above a random stayer (ties count half). */
export function rocAuc(scores: readonly number[], labels: readonly number[]): number {
  const order = scores.map((score, index) => ({ score, label: labels[index]! })).sort((a, b) => a.score - b.score);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j]!.score === order[i]!.score) j += 1;
    const averageRank = (i + 1 + j) / 2;
    for (let t = i; t < j; t += 1) {
      if (order[t]!.label === 1) {
        positives += 1;
        rankSum += averageRank;
      }
    }
    i = j;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) throw new RangeError('AUC needs leavers and stayers');
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Of the `share` (default 10 %) highest-scored, how many left. */
export function precisionAtTop(scores: readonly number[], labels: readonly number[], share = 0.1): number {
  const top = Math.max(1, Math.floor(scores.length * share));
  const ranked = scores.map((score, index) => ({ score, label: labels[index]!, index })).sort((a, b) => b.score - a.score || a.index - b.index);
  return ranked.slice(0, top).reduce((sum, row) => sum + row.label, 0) / top;
}

/** A stable split by id (FNV-1a): the same account is always in the same set. */
export function isHeldOut(id: string, share = 0.3): boolean {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i += 1) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 4294967296 < share;
}
