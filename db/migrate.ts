import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

export const migrationsDir = path.join(__dirname, 'migrations');

/** A migration failed; nothing of it was applied. Names the file and PostgreSQL's own words. */
export class MigrationError extends Error {
  readonly code = 'MIGRATION_FAILED';
  constructor(
    readonly file: string,
    override readonly cause: Error,
  ) {
    super(`migration ${file} failed and was rolled back: ${cause.message}`);
    this.name = 'MigrationError';
  }
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

/** Any number that is the same for every Keyflow process: serialises concurrent migrators. */
const migrationLockKey = 727_274_001;

/**
 * Applies the numbered `.sql` files in `db/migrations/` that have not run yet, in order, each in its
 * own transaction, under an advisory lock so two processes starting at once do not race. slonik
 * refuses multi-statement queries, so this uses `pg` directly. A changed checksum of an applied
 * file is refused: migrations are append-only.
 */
export async function migrate(databaseUrl: string, dir: string = migrationsDir): Promise<MigrationResult> {
  const files = fs
    .readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const applied = new Map(
      (await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations')).rows.map((row) => [row.name, row.checksum]),
    );
    const result: MigrationResult = { applied: [], alreadyApplied: 0 };
    for (const file of files) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      const checksum = crypto.createHash('sha256').update(text).digest('hex');
      const previous = applied.get(file);
      if (previous !== undefined) {
        if (previous !== checksum) {
          throw new MigrationError(file, new Error('the file changed after it was applied; add a new migration instead'));
        }
        result.alreadyApplied += 1;
        continue;
      }
      try {
        await client.query('BEGIN');
        await client.query(text);
        await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file, checksum]);
        await client.query('COMMIT');
        result.applied.push(file);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new MigrationError(file, error as Error);
      }
    }
    return result;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [migrationLockKey]).catch(() => undefined);
    await client.end();
  }
}
