import {
  createPool,
  createTypeParserPreset,
  SchemaValidationError,
  type DatabasePool,
  type Interceptor,
  type QueryResultRow,
} from 'slonik';

export type { DatabasePool } from 'slonik';

/**
 * slonik only validates `sql.type(schema)` rows when an interceptor asks it to; this one does, so a
 * row that drifts from its schema fails at the query that read it.
 */
const validateRows: Interceptor = {
  name: 'keyflow-validate-rows',
  transformRow: (context, query, row) => {
    if (!context.resultParser) return row;
    const parsed = context.resultParser.safeParse(row);
    if (!parsed.success) throw new SchemaValidationError(query, row, parsed.error.issues);
    return parsed.data as QueryResultRow;
  },
};

/**
 * Money and quantities stay exact (numeric arrives as a string, never a float); instants arrive as
 * ISO-8601 strings in UTC, which is also what the API returns.
 */
const typeParsers = [
  ...createTypeParserPreset().filter((parser) => !['numeric', 'timestamp', 'timestamptz', 'date'].includes(parser.name)),
  { name: 'numeric', parse: (value: string) => value },
  { name: 'date', parse: (value: string) => value },
  { name: 'timestamptz', parse: (value: string) => new Date(value).toISOString() },
  { name: 'timestamp', parse: (value: string) => new Date(`${value}Z`).toISOString() },
];

export interface PoolOptions {
  maximumPoolSize?: number;
  applicationName?: string;
}

/** The slonik pool every part of Keyflow uses; close it with `pool.end()`. */
export async function createDatabasePool(databaseUrl: string, options: PoolOptions = {}): Promise<DatabasePool> {
  const url = new URL(databaseUrl);
  if (options.applicationName) url.searchParams.set('application_name', options.applicationName);
  const pool = await createPool(url.toString(), {
    interceptors: [validateRows],
    typeParsers,
    maximumPoolSize: options.maximumPoolSize ?? 10,
    connectionTimeout: 10_000,
    statementTimeout: 60_000,
    idleTimeout: 30_000,
    // slonik's default runs `DISCARD ALL` each time a connection goes back to the pool: a second
    // round trip for every query, holding the connection meanwhile. Keyflow leaves no session
    // state behind (settings are SET LOCAL, locks pg_advisory_xact_lock, temp tables ON COMMIT
    // DROP — keep it that way), so there is nothing to discard. It must still be an async
    // function: slonik's release only works when the reset yields once (with `undefined` a
    // released connection stays "pending release" for good).
    resetConnection: async () => undefined,
  });
  // slonik also emits every query error on the pool's emitter; with no listener, Node would throw
  // "Unhandled error" there instead of the typed error (UniqueIntegrityConstraintViolationError, …)
  // that the caller is about to receive anyway.
  pool.on('error', () => undefined);
  return pool;
}
