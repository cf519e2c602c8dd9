import type { Logger } from '../../runtime/logger';
import { callPartner, type PartnerEndpoint } from './http';
import { usagePage } from './wire';

/**
 * The usage feed (mediation), for billing's usage collection: pages of records after a cursor,
 * oldest first. Reading is idempotent; the reader keeps its cursor and deduplicates by
 * (source, recordId).
 */
export function createUsageFeedClient(endpoint: PartnerEndpoint, logger?: Logger) {
  return {
    listRecords: (options: { after?: string; limit?: number; signal?: AbortSignal } = {}) =>
      callPartner(
        endpoint,
        {
          operation: 'usage.listRecords',
          method: 'GET',
          path: '/records',
          query: { after: options.after, limit: options.limit === undefined ? undefined : String(options.limit) },
          response: usagePage,
          signal: options.signal,
        },
        logger,
      ),
  };
}

export type UsageFeedClient = ReturnType<typeof createUsageFeedClient>;
