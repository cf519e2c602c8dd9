import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { z } from 'zod';

/**
 * The bill run's set-based work needs COPY and long transactions that span COPY and ordinary
 * statements on one connection; slonik (the rest of Keyflow's database access) exposes neither,
 * so this is a small `pg` pool of its own. Its queries are parameterised like slonik's and their
 * rows are validated with zod like `sql.type` does; nothing here builds SQL from values.
 */
export class BulkDatabase {
  private readonly pool: pg.Pool;

  constructor(databaseUrl: string, maxConnections = 4) {
    this.pool = new pg.Pool({
      connectionString: databaseUrl,
      max: maxConnections,
      idleTimeoutMillis: 5_000,
      // An idle bulk connection must not keep a worker (or a test) alive.
      allowExitOnIdle: true,
      application_name: 'keyflow-billing',
    });
    // An idle connection the server closed (restart, failover, a dropped test database) is simply
    // replaced on next use; without a listener pg would crash the process over it.
    this.pool.on('error', () => undefined);
  }

  /** Runs `work` in one transaction on one connection; rolls back when it throws. */
  async transaction<T>(work: (client: BulkClient) => Promise<T>): Promise<T> {
    const connection = await this.pool.connect();
    const client = new BulkClient(connection);
    try {
      await connection.query('BEGIN');
      const result = await work(client);
      await connection.query('COMMIT');
      return result;
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      connection.release();
    }
  }

  /** One statement outside any transaction of ours. */
  async query<S extends z.ZodTypeAny>(schema: S, text: string, values: unknown[] = []): Promise<z.infer<S>[]> {
    const connection = await this.pool.connect();
    try {
      return await new BulkClient(connection).query(schema, text, values);
    } finally {
      connection.release();
    }
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

/** Thrown when a row does not match the schema its query promised (like slonik's SchemaValidationError). */
export class RowValidationError extends Error {
  constructor(
    readonly query: string,
    readonly issues: z.ZodIssue[],
  ) {
    super(`a row of "${query.replace(/\s+/g, ' ').slice(0, 120)}" does not match its schema: ${issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    this.name = 'RowValidationError';
  }
}

export class BulkClient {
  constructor(readonly connection: pg.PoolClient) {}

  /** A parameterised query whose rows are validated with `schema`. */
  async query<S extends z.ZodTypeAny>(schema: S, text: string, values: unknown[] = []): Promise<z.infer<S>[]> {
    const result = await this.connection.query(text, values);
    return result.rows.map((row) => {
      const parsed = schema.safeParse(row);
      if (!parsed.success) throw new RowValidationError(text, parsed.error.issues);
      return parsed.data;
    });
  }

  /** A parameterised statement whose rows nobody reads; returns the affected row count. */
  async run(text: string, values: unknown[] = []): Promise<number> {
    const result = await this.connection.query(text, values);
    return result.rowCount ?? 0;
  }

  /**
   * Streams rows into `COPY … FROM STDIN` (text format). `lines` yields complete lines, each ending
   * in "\n", built with `copyLine`; they are sent in chunks, with backpressure.
   */
  async copyIn(copyStatement: string, lines: Iterable<string> | AsyncIterable<string>): Promise<void> {
    const sink = this.connection.query(copyFrom(copyStatement));
    await pipeline(Readable.from(chunked(lines), { objectMode: false }), sink);
  }
}

async function* chunked(lines: Iterable<string> | AsyncIterable<string>): AsyncGenerator<string> {
  let chunk = '';
  for await (const line of lines) {
    chunk += line;
    if (chunk.length >= 256 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** One line of COPY text format: tab-separated, `\N` for null, backslash escapes. */
export function copyLine(values: readonly (string | number | bigint | boolean | null | undefined)[]): string {
  let line = '';
  for (let index = 0; index < values.length; index += 1) {
    if (index > 0) line += '\t';
    const value = values[index];
    if (value === null || value === undefined) line += '\\N';
    else if (typeof value === 'string') line += escapeCopy(value);
    else line += String(value);
  }
  return `${line}\n`;
}

const needsEscape = /[\\\t\n\r]/;

function escapeCopy(value: string): string {
  if (!needsEscape.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}
