import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { Directory } from '../db/directory';
import { PlainReads } from '../db/plain-reads';
import { createDatabasePool } from '../db/pool';
import type { Config } from '../runtime/config';
import type { Logger } from '../runtime/logger';
import { createTemporalClient } from '../runtime/temporal-client';
import { startNodeStatsCollector } from '../ops/node-stats';
import { createApp, type ApiDependencies } from './app';
import { BillRunFeed } from './bill-run-feed';
import { InboxFeed } from './inbox-feed';
import { createHttpServer } from '../runtime/http-server';

export interface RunningApi {
  server: Server;
  url: string;
  pool: DatabasePool;
  reads: PlainReads;
  directory: Directory;
  temporal: Client;
  inbox: InboxFeed;
  billRuns: BillRunFeed;
  close(): Promise<void>;
}

/** Starts the API on the configured host and port (0 picks a free one, as tests do). */
export async function startApi(config: Config, logger: Logger, port = config.KEYFLOW_API_PORT, extra: Pick<ApiDependencies, 'ops'> = {}): Promise<RunningApi> {
  const pool = await createDatabasePool(config.DATABASE_URL!, { applicationName: 'keyflow-api', maximumPoolSize: config.KEYFLOW_PG_POOL_SIZE });
  const reads = PlainReads.open(config.DATABASE_URL!, { applicationName: 'keyflow-api-reads', maximumPoolSize: config.KEYFLOW_PG_POOL_SIZE });
  const temporal = await createTemporalClient(config);
  const directory = Directory.start(config.DATABASE_URL!, logger);
  const collector = config.KEYFLOW_NODE_STATS_INTERVAL_MS > 0 ? startNodeStatsCollector(temporal, pool, logger, config.KEYFLOW_NODE_STATS_INTERVAL_MS) : undefined;
  const inbox = InboxFeed.start(config.DATABASE_URL!, pool, logger);
  const billRuns = BillRunFeed.start(config.DATABASE_URL!, logger);
  const app = createApp({ config, logger, pool, reads, directory, temporal, inbox, billRuns, ...extra });
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = createHttpServer(app);
    listening.once('error', reject);
    listening.listen(port, config.KEYFLOW_API_HOST, () => resolve(listening));
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${config.KEYFLOW_API_HOST}:${address.port}`,
    pool,
    reads,
    directory,
    temporal,
    inbox,
    billRuns,
    async close() {
      // Pushed streams stay open until ended: the server would wait for them.
      await Promise.all([inbox.close(), billRuns.close()]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await collector?.stop();
      await temporal.connection.close();
      await directory.close();
      await reads.end();
      await pool.end();
    },
  };
}
