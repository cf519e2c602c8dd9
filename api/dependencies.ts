import type { Client } from '@temporalio/client';
import type { WorkflowBundle } from '@temporalio/worker';
import type { DatabasePool } from 'slonik';
import type { Directory } from '../db/directory';
import type { PlainReads } from '../db/plain-reads';
import type { Config } from '../runtime/config';
import type { Logger } from '../runtime/logger';
import type { BillRunFeed } from './bill-run-feed';
import type { InboxFeed } from './inbox-feed';

/** What the API's routes may use; the API process (or a test) builds them once. */
export interface ApiDependencies {
  config: Config;
  logger: Logger;
  pool: DatabasePool;
  /** The plain pool of the busiest reads (the account list). */
  reads: PlainReads;
  /** Names and paths of org units, cached for the account list's unit filter. */
  directory: Directory;
  temporal: Client;
  /** The pushed side of the task list (absent: its event stream answers 503). */
  inbox?: InboxFeed;
  /** The pushed side of the billing room (absent: its event stream answers 503). */
  billRuns?: BillRunFeed;
  /** Ops options (tests hand in the workflow bundle the replay check uses). */
  ops?: OpsRouteOptions;
}

export interface OpsRouteOptions {
  /** The workflow code the replay check replays against; the worker's own bundle by default. */
  replayBundle?: () => Promise<WorkflowBundle>;
}
