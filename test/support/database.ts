import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabasePool, type DatabasePool } from '../../db/pool';

export interface TestDatabase {
  url: string;
  pool: DatabasePool;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file: a copy of the one `keyflow test` migrated, so
 * files never see each other's rows. Tests never write to the template itself.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const templateUrl = new URL(process.env.DATABASE_URL!);
  const template = templateUrl.pathname.slice(1);
  const name = `${template}_${randomBytes(6).toString('hex')}`;
  await admin(templateUrl, `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  const url = new URL(templateUrl);
  url.pathname = `/${name}`;
  const pool = await createDatabasePool(url.toString(), { maximumPoolSize: 10 });
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      await admin(templateUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

async function admin(templateUrl: URL, statement: string): Promise<void> {
  const url = new URL(templateUrl);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
