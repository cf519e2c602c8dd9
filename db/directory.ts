import pg from 'pg';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { Logger } from '../runtime/logger';

/** The channel migration 0102's trigger notifies when org units change. */
const channel = 'keyflow_directory';

export interface DirectoryUnit {
  name: string;
  path: string;
}

const unitRow = z.object({ name: z.string(), path: z.string() });

/**
 * Org units' names and paths, read once per process and kept: the account list's `orgUnitId` filter
 * needs the unit's path, and planning a join to org_units for it cost PostgreSQL more than running
 * the list itself.
 *
 * Kept only while this process listens for changes: triggers notify on every rename, move or
 * delete, and each notification empties the cache. While the listening connection is down nothing
 * is kept, so a reader may be slower then, never stale. A read that was under way when a change
 * arrived does not store what it read (it may predate the change).
 */
export class Directory {
  private readonly units = new Map<string, DirectoryUnit>();
  /** Bumped on every change; a read stores its rows only if no change came in meanwhile. */
  private generation = 0;
  private listener: pg.Client | null = null;
  private listening = false;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
    private readonly reconnectDelayMs: number,
  ) {}

  /**
   * A directory that starts listening now; until it does, it reads through. A lost connection is
   * retried after `reconnectDelayMs`, doubling up to 30 s while attempts fail.
   */
  static start(databaseUrl: string, logger: Logger, options: { reconnectDelayMs?: number } = {}): Directory {
    const directory = new Directory(databaseUrl, logger, options.reconnectDelayMs ?? 500);
    void directory.listen();
    return directory;
  }

  /** Resolves once the directory listens (or gave up this attempt): tests wait for it. */
  ready: Promise<void> = Promise.resolve();

  /** Whether entries are being kept (the listening connection is up). */
  get isCaching(): boolean {
    return this.listening;
  }

  /** A unit's name and path, or null when there is no such unit. */
  async unit(db: CommonQueryMethods, id: string): Promise<DirectoryUnit | null> {
    const cached = this.units.get(id);
    if (cached) return cached;
    const generation = this.generation;
    const row = await db.maybeOne(sql.type(unitRow)`SELECT name, path FROM org_units WHERE id = ${id}`);
    if (row !== null && this.listening && generation === this.generation) this.units.set(id, row);
    return row;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.forget();
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
  }

  private forget(): void {
    this.generation += 1;
    this.units.clear();
  }

  private listen(attempt = 0): Promise<void> {
    this.ready = (async () => {
      const client = new pg.Client({ connectionString: this.databaseUrl, application_name: 'keyflow-directory' });
      // Until LISTEN has succeeded, failures are the catch below's; after, they are `lost`'s.
      const lost = (error?: Error) => {
        if (this.listener !== client) return;
        this.listener = null;
        this.listening = false;
        this.forget();
        void client.end().catch(() => undefined);
        if (this.closed) return;
        this.logger.warn({ err: error }, 'directory: lost the connection that listens for changes; reading through until it is back');
        this.scheduleReconnect(0);
      };
      client.on('error', lost);
      client.on('end', () => lost());
      client.on('notification', () => this.forget());
      try {
        await client.connect();
        await client.query(`LISTEN ${channel}`);
      } catch (error) {
        void client.end().catch(() => undefined);
        if (this.closed) return;
        this.logger.warn({ err: error }, 'directory: cannot listen for changes; reading through for now');
        this.scheduleReconnect(attempt + 1);
        return;
      }
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.listener = client;
      // Whatever was read before listening may already be out of date.
      this.forget();
      this.listening = true;
    })();
    return this.ready;
  }

  private scheduleReconnect(attempt: number): void {
    const delayMs = Math.min(30_000, this.reconnectDelayMs * 2 ** Math.min(attempt, 6));
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closed) void this.listen(attempt);
    }, delayMs);
    this.reconnectTimer.unref();
  }
}
