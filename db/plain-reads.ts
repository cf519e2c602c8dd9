import pg from 'pg';
import type { z } from 'zod';

/** A fixed statement of the plain pool; its name must be unique among them (it names the prepared statement). */
export interface PlainStatement {
  name: string;
  text: string;
}

/**
 * A plain node-postgres pool for the busiest reads, beside the slonik pool everything else uses.
 *
 * slonik prepares a whole connection context for every query it runs on a pool (a bound
 * connection, a child logger, tracing spans): about 30 KB of short-lived objects and 0.03 ms of
 * CPU a query. On the account list that was a tenth of the API's CPU, and the garbage of requests
 * in flight lengthened every young-generation collection. Reads through here are still typed: a
 * fixed statement with `$n` parameters (never text built from input), and every row is checked
 * against its zod schema.
 *
 * Each statement is prepared once per connection, under its name. PostgreSQL would switch a
 * prepared statement to a generic plan after five runs; the list's filters are parameters that are
 * null when unused, and only a plan made with the values can fold those away and pick the scope's
 * index. So every run is planned with its values (`plan_cache_mode`), and preparing saves the
 * parsing and analysis: 0.07 ms of PostgreSQL's CPU per list, a quarter of it.
 */
export class PlainReads {
  private constructor(private readonly pool: pg.Pool) {}

  static open(databaseUrl: string, options: { applicationName: string; maximumPoolSize: number }): PlainReads {
    const pool = new pg.Pool({
      connectionString: databaseUrl,
      application_name: options.applicationName,
      max: options.maximumPoolSize,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 10_000,
      statement_timeout: 60_000,
      options: '-c plan_cache_mode=force_custom_plan',
    });
    // An idle connection that drops is replaced on next use; without a listener Node would throw.
    pool.on('error', () => undefined);
    return new PlainReads(pool);
  }

  /** The single row `statement` returns, checked against `row`. */
  async one<S extends z.ZodTypeAny>(row: S, statement: PlainStatement, values: readonly unknown[]): Promise<z.infer<S>> {
    const result = await this.pool.query({ name: statement.name, text: statement.text, values: values as unknown[] });
    if (result.rows.length !== 1) throw new Error(`expected one row, got ${result.rows.length}`);
    return row.parse(result.rows[0]) as z.infer<S>;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
