import pg from 'pg';
import type { z } from 'zod';

/**
 * A plain node-postgres pool for the busiest reads, beside the slonik pool everything else uses.
 *
 * slonik prepares a whole connection context for every query it runs on a pool (a bound
 * connection, a child logger, tracing spans): about 30 KB of short-lived objects and 0.03 ms of
 * CPU a query. On the account list that was a tenth of the API's CPU, and the garbage of requests
 * in flight lengthened every young-generation collection. Reads through here are still typed: a
 * fixed SQL text with `$n` parameters (never text built from input), and every row is checked
 * against its zod schema.
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
    });
    // An idle connection that drops is replaced on next use; without a listener Node would throw.
    pool.on('error', () => undefined);
    return new PlainReads(pool);
  }

  /** The single row `text` returns, checked against `row`. */
  async one<S extends z.ZodTypeAny>(row: S, text: string, values: readonly unknown[]): Promise<z.infer<S>> {
    const result = await this.pool.query(text, values as unknown[]);
    if (result.rows.length !== 1) throw new Error(`expected one row, got ${result.rows.length}`);
    return row.parse(result.rows[0]) as z.infer<S>;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
