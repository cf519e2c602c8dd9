import { buildBandTimeline } from './bands';
import { RatingError } from './errors';
import { compilePlan, FirstRater, type CompiledPlan } from './first-rating';
import type { BillingPeriod } from './period';

/** One version of a product's tariff: its plan and the instants it is valid between. */
export interface TariffVersion {
  /** The `tariffs` row id: rated usage and bill lines point at it. */
  id: string;
  productId: string;
  /** UTC epoch ms, inclusive. */
  validFrom: number;
  /** UTC epoch ms, exclusive; null = open-ended. */
  validTo: number | null;
  plan: unknown;
}

export interface CompiledTariff {
  id: string;
  productId: string;
  validFrom: number;
  validTo: number | null;
  compiled: CompiledPlan;
}

const day = 86_400_000;

/**
 * Every tariff version of every product, compiled once, and the first raters built from them per
 * (version, zone, period) on first use. Usage is rated by the version valid at its start instant.
 */
export class TariffBook {
  private readonly byProduct = new Map<string, CompiledTariff[]>();
  private readonly byId = new Map<string, CompiledTariff>();
  private readonly raters = new Map<string, FirstRater>();
  /** Versions whose plan did not compile, when the book was told to keep going without them. */
  readonly invalid = new Map<string, RatingError>();

  /**
   * @param options.keepInvalid record a version whose plan is invalid in `invalid` (rating under it
   *   then throws INVALID_PLAN) instead of refusing the whole book.
   * @throws RatingError INVALID_PLAN (with the version id) when a plan does not parse or versions overlap.
   */
  constructor(versions: readonly TariffVersion[], options: { keepInvalid?: boolean } = {}) {
    for (const version of versions) {
      let compiled: CompiledPlan | null = null;
      try {
        compiled = compilePlan(version.plan);
      } catch (error) {
        if (!(error instanceof RatingError)) throw error;
        const named = new RatingError(error.code, `tariff ${version.id}: ${error.message}`, error.details);
        if (!options.keepInvalid) throw named;
        this.invalid.set(version.id, named);
      }
      // An invalid version still occupies its validity, so usage in it is refused, not rated by a neighbour.
      const entry: CompiledTariff = { id: version.id, productId: version.productId, validFrom: version.validFrom, validTo: version.validTo, compiled: compiled! };
      this.byId.set(version.id, entry);
      const list = this.byProduct.get(version.productId) ?? [];
      list.push(entry);
      this.byProduct.set(version.productId, list);
    }
    for (const [productId, list] of this.byProduct) {
      list.sort((a, b) => a.validFrom - b.validFrom);
      for (let index = 1; index < list.length; index += 1) {
        const previous = list[index - 1]!;
        if (previous.validTo === null || previous.validTo > list[index]!.validFrom) {
          throw new RatingError('INVALID_PLAN', `tariff versions ${previous.id} and ${list[index]!.id} of product ${productId} overlap`);
        }
      }
    }
  }

  /** The version of a product valid at an instant. @throws RatingError NO_TARIFF */
  versionAt(productId: string, instantMs: number): CompiledTariff {
    const list = this.byProduct.get(productId);
    if (list) {
      for (let index = list.length - 1; index >= 0; index -= 1) {
        const version = list[index]!;
        if (version.validFrom <= instantMs) {
          if (version.validTo === null || instantMs < version.validTo) {
            const problem = this.invalid.get(version.id);
            if (problem) throw problem;
            return version;
          }
          break;
        }
      }
    }
    throw new RatingError('NO_TARIFF', `product ${productId} has no tariff valid at ${new Date(instantMs).toISOString()}`);
  }

  byIdOrThrow(id: string): CompiledTariff {
    const version = this.byId.get(id);
    if (!version) throw new RatingError('NO_TARIFF', `no tariff ${id}`);
    const problem = this.invalid.get(id);
    if (problem) throw problem;
    return version;
  }

  /** Whether a product's plan valid at an instant rates this usage type (guiding prefers such a subscription). */
  rates(productId: string, instantMs: number, usageType: 'voice' | 'sms' | 'data'): boolean {
    try {
      const plan = this.versionAt(productId, instantMs).compiled.plan;
      return plan[usageType] !== undefined;
    } catch {
      return false;
    }
  }

  /**
   * The first rater of a version for accounts in `period.timeZone`: its band timeline spans the
   * period with a day before and two after, so calls that start late on the last day still rate.
   */
  rater(version: CompiledTariff, period: BillingPeriod): FirstRater {
    const key = `${version.id}|${period.timeZone}|${period.id}`;
    let rater = this.raters.get(key);
    if (!rater) {
      const timeline = buildBandTimeline(version.compiled.plan.timeBands, period.timeZone, period.startMs - day, period.endMs + 2 * day);
      rater = new FirstRater(version.compiled, timeline);
      this.raters.set(key, rater);
    }
    return rater;
  }
}
