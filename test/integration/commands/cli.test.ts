import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { migrate, MigrationError } from '../../../db/migrate';
import { createTestDatabase } from '../../support/database';
import { runKeyflow, startKeyflow } from '../../support/cli';

const onlyLine = (text: string): string[] => text.trim().split('\n').filter(Boolean);

describe('keyflow refuses a broken environment with one clear line', () => {
  it('names a malformed variable and exits non-zero', async () => {
    const result = await runKeyflow(['start'], { KEYFLOW_API_PORT: 'eighty' });

    expect(result.code).toBe(1);
    expect(onlyLine(result.stderr)).toEqual([expect.stringMatching(/^keyflow: invalid configuration: KEYFLOW_API_PORT: /)]);
  });

  it('says when DATABASE_URL cannot be reached, without echoing its password', async () => {
    const result = await runKeyflow(['start'], {
      DATABASE_URL: 'postgres://keyflow:hunter2@127.0.0.1:1/nowhere',
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE,
    });

    expect(result.code).toBe(1);
    expect(onlyLine(result.stderr)).toEqual([expect.stringMatching(/^keyflow: DATABASE_URL: cannot connect to PostgreSQL at postgres:\/\/keyflow:\*\*\*@127\.0\.0\.1:1\/nowhere/)]);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('says what to install when there is no temporal CLI and no way to install one', async () => {
    const emptyTools = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-no-tools-'));
    const result = await runKeyflow(['start'], {
      PATH: '/usr/bin:/bin',
      DATABASE_URL: process.env.DATABASE_URL,
      KEYFLOW_TOOLS_DIR: emptyTools,
      KEYFLOW_PYTHON: '/nonexistent/python3',
      KEYFLOW_GO: '/nonexistent/go',
      KEYFLOW_TEMPORAL_PORT: '1',
    });

    expect(result.code).toBe(1);
    expect(onlyLine(result.stderr)).toEqual([expect.stringMatching(/^keyflow: the temporal CLI is not installed and could not be installed \(pip: .*; go: .*\): install python3 with pip/)]);
    expect(fs.readdirSync(emptyTools)).toEqual([]);
  });

  it('refuses a non-PostgreSQL DATABASE_URL for migrate', async () => {
    const result = await runKeyflow(['migrate'], { DATABASE_URL: 'mysql://root@localhost/keyflow' });

    expect(result.code).toBe(1);
    expect(onlyLine(result.stderr)).toEqual([expect.stringMatching(/^keyflow: invalid configuration: DATABASE_URL: /)]);
  });
});

describe('migrations', () => {
  it('roll a failed file back whole and name it with PostgreSQL\'s error', async () => {
    const database = await createTestDatabase();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-migrations-'));
    fs.writeFileSync(path.join(dir, '0001_good.sql'), 'CREATE TABLE good (id int);');
    fs.writeFileSync(path.join(dir, '0002_bad.sql'), 'CREATE TABLE half (id int);\nSELECT * FROM no_such_table;');
    try {
      await expect(migrate(database.url, dir)).rejects.toThrow(MigrationError);
      await expect(migrate(database.url, dir)).rejects.toThrow(/0002_bad\.sql failed and was rolled back: relation "no_such_table" does not exist/);

      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      const tables = await client.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE tablename IN ('good', 'half')`);
      const recorded = await client.query<{ name: string }>(`SELECT name FROM schema_migrations WHERE name LIKE '000%_%' AND name IN ('0001_good.sql', '0002_bad.sql')`);
      await client.end();
      expect(tables.rows.map((row) => row.name)).toEqual(['good']);
      expect(recorded.rows.map((row) => row.name)).toEqual(['0001_good.sql']);
    } finally {
      await database.drop();
    }
  });

  it('apply once: a second run applies nothing', async () => {
    const database = await createTestDatabase();
    try {
      const again = await migrate(database.url);
      expect(again.applied).toEqual([]);
      expect(again.alreadyApplied).toBeGreaterThan(0);
    } finally {
      await database.drop();
    }
  });
});

describe('keyflow start', () => {
  const base = Number(process.env.KEYFLOW_TEST_PORT_BASE ?? 55400) + 20;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-start-'));
  const env = {
    KEYFLOW_DATA_DIR: dataDir,
    KEYFLOW_PG_PORT: String(base + 1),
    KEYFLOW_TEMPORAL_PORT: String(base + 2),
    KEYFLOW_API_PORT: String(base + 3),
    KEYFLOW_SIM_PORT: String(base + 4),
    KEYFLOW_TEMPORAL_UI: 'false',
  };

  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('brings everything up, stops every process it started on SIGINT, and comes back on the same data', async () => {
    // first start: fresh data directory
    const first = startKeyflow(['start'], env);
    await first.waitFor('Keyflow is running');
    const health = (await (await fetch(`http://127.0.0.1:${env.KEYFLOW_API_PORT}/health`)).json()) as any;
    expect(health).toMatchObject({ status: 'up', postgres: { status: 'up' }, temporal: { status: 'up' } });

    // leave a trace in both stores
    const databaseUrl = `postgres://keyflow@127.0.0.1:${env.KEYFLOW_PG_PORT}/keyflow`;
    await sqlOnce(databaseUrl, `INSERT INTO echo_messages (workflow_id, message) VALUES ('restart-proof', 'still here')`);
    const connection = await Connection.connect({ address: `127.0.0.1:${env.KEYFLOW_TEMPORAL_PORT}` });
    await new Client({ connection, namespace: 'keyflow' }).workflow.start('echoWorkflow', {
      taskQueue: 'keyflow',
      workflowId: 'restart-proof',
      args: ['still here'],
    });
    await connection.close();

    // Ctrl-C
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(processesUsing(dataDir)).toEqual([]);

    // second start: same data
    const second = startKeyflow(['start'], env);
    await second.waitFor('Keyflow is running');
    const rows = await sqlOnce(databaseUrl, `SELECT message FROM echo_messages WHERE workflow_id = 'restart-proof'`);
    expect(rows).toEqual([{ message: 'still here' }]);
    const again = await Connection.connect({ address: `127.0.0.1:${env.KEYFLOW_TEMPORAL_PORT}` });
    const described = await new Client({ connection: again, namespace: 'keyflow' }).workflow.getHandle('restart-proof').describe();
    await again.close();
    expect(described.workflowId).toBe('restart-proof');

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(processesUsing(dataDir)).toEqual([]);
  }, 240_000);
});

describe('keyflow api', () => {
  it('serves from as many processes as KEYFLOW_API_PROCESSES says, and stops them all on SIGTERM', async () => {
    const marker = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-api-'));
    const port = Number(process.env.KEYFLOW_TEST_PORT_BASE ?? 55400) + 26;
    const api = startKeyflow(['api'], {
      DATABASE_URL: process.env.DATABASE_URL,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE,
      KEYFLOW_DATA_DIR: marker,
      KEYFLOW_API_PORT: String(port),
      KEYFLOW_API_PROCESSES: '2',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    });
    try {
      await api.waitFor('API processes listening', 60_000);
      for (let request = 0; request < 4; request += 1) expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      // The primary and its two workers (tsx may run an esbuild service beside them on a cold cache).
      expect(processesUsing(marker).filter((entry) => entry.includes('keyflow.js api'))).toHaveLength(3);

      api.child.kill('SIGTERM');

      expect(await api.exited).toBe(0);
      expect(processesUsing(marker)).toEqual([]);
    } finally {
      if (api.child.exitCode === null) api.child.kill('SIGKILL');
      fs.rmSync(marker, { recursive: true, force: true });
    }
  }, 90_000);
});

async function sqlOnce(url: string, text: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Processes started for this data directory: everything `keyflow start` runs inherits
 * KEYFLOW_DATA_DIR, and PostgreSQL and Temporal also name it on their command lines.
 */
function processesUsing(folder: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (environ.split('\0').includes(`KEYFLOW_DATA_DIR=${folder}`) || cmdline.includes(folder)) found.push(`${pid} ${cmdline}`);
    } catch {
      // gone, or a kernel thread
    }
  }
  return found;
}
