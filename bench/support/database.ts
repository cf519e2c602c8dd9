import pg from 'pg';

/** Every run measures the same freshly seeded data, whatever a previous run left. */
export async function recreateDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  await administer(databaseUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await administer(databaseUrl, `CREATE DATABASE "${name}"`);
}

/** Runs a statement on the server's `postgres` database (creating or dropping databases). */
export async function administer(databaseUrl: string, statement: string): Promise<void> {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
