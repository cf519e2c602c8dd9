import pg from 'pg';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { Logger } from '../runtime/logger';

/** The channel the triggers of migration 0102 notify when a unit or a staff member changes. */
const channel = 'keyflow_directory';

export interface DirectoryUnit {
  name: string;
  path: string;
}

const unitRow = z.object({ id: z.string(), name: z.string(), path: z.string() });
const staffRow = z.object({ id: z.coerce.number().int(), displayName: z.string() });

/**
 * The names of org units and staff, and the units' paths, as the busiest lists show them: read once
 * per process and kept, instead of joined into every page (planning that join cost PostgreSQL more
 * than running the list itself).
 *
 * Kept only while this process listens for changes: triggers notify on every rename, move or
 * delete, and each notification empties the cache. While the listening connection is down nothing
 * is kept, so a reader may be slower then, never stale. A read that was under way when a change
 * arrived does not store what it read (it may predate the change).
 */
export class Directory {
  private readonly units = new Map<string, DirectoryUnit>();
  private readonly staff = new Map<number, string>();
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
    return (await this.lookUp(db, [id], [])).units.get(id) ?? null;
  }

  /** The units and staff members asked for that exist, by id. */
  async lookUp(
    db: CommonQueryMethods,
    unitIds: readonly string[],
    staffIds: readonly number[],
  ): Promise<{ units: ReadonlyMap<string, DirectoryUnit>; staff: ReadonlyMap<number, string> }> {
    const missingUnits = missing(unitIds, this.units);
    const missingStaff = missing(staffIds, this.staff);
    if (missingUnits.length === 0 && missingStaff.length === 0) return { units: this.units, staff: this.staff };

    const generation = this.generation;
    const [units, staff] = await Promise.all([
      missingUnits.length > 0
        ? db.any(sql.type(unitRow)`SELECT id, name, path FROM org_units WHERE id = ANY(${sql.array(missingUnits, 'text')})`)
        : [],
      missingStaff.length > 0
        ? db.any(sql.type(staffRow)`SELECT id, display_name AS "displayName" FROM staff WHERE id = ANY(${sql.array(missingStaff, 'int8')})`)
        : [],
    ]);
    const keep = this.listening && generation === this.generation;
    const unitsFound = keep ? this.units : new Map(this.units);
    const staffFound = keep ? this.staff : new Map(this.staff);
    for (const row of units) unitsFound.set(row.id, { name: row.name, path: row.path });
    for (const row of staff) staffFound.set(row.id, row.displayName);
    return { units: unitsFound, staff: staffFound };
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
    this.staff.clear();
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

/** The ids not in `cached`, each once; no allocation when all are there (the list's usual case). */
function missing<K>(ids: readonly K[], cached: ReadonlyMap<K, unknown>): K[] {
  let absent: Set<K> | undefined;
  for (const id of ids) if (!cached.has(id)) (absent ??= new Set()).add(id);
  return absent ? [...absent] : [];
}
