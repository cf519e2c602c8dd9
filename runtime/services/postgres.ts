import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../logger';
import { ServiceError } from './errors';
import type { Supervisor } from './supervisor';

export interface PostgresSettings {
  databaseUrl?: string;
  dataDir: string;
  port: number;
  database: string;
  /** Tests trade durability for speed: their cluster is thrown away anyway. */
  durable: boolean;
}

export interface PostgresService {
  /** What Keyflow's own processes connect with: the private cluster's Unix socket when it has one. */
  databaseUrl: string;
  /** The same database over TCP, for people and tools (psql, a GUI). */
  tcpUrl: string;
  version: string;
  startedByUs: boolean;
}

const superuser = 'keyflow';

/**
 * Gives Keyflow a PostgreSQL: the one `DATABASE_URL` names, or else a private cluster under the
 * data directory run with the machine's own binaries (created on first use, reused after).
 */
export async function ensurePostgres(settings: PostgresSettings, supervisor: Supervisor, logger: Logger): Promise<PostgresService> {
  if (settings.databaseUrl) {
    const version = await serverVersion(settings.databaseUrl).catch((error: Error) => {
      throw new ServiceError('POSTGRES_UNREACHABLE', `DATABASE_URL: cannot connect to PostgreSQL at ${redact(settings.databaseUrl!)}: ${error.message}`);
    });
    return { databaseUrl: settings.databaseUrl, tcpUrl: settings.databaseUrl, version, startedByUs: false };
  }

  const adminUrl = `postgres://${superuser}@127.0.0.1:${settings.port}/postgres`;
  const databaseUrl = `postgres://${superuser}@127.0.0.1:${settings.port}/${settings.database}`;
  let startedByUs = false;
  const clusterDir = path.join(settings.dataDir, 'pg');

  if (!(await answers(adminUrl))) {
    const binDir = findPostgresBinaries();
    const owner = clusterOwner();
    if (!fs.existsSync(path.join(clusterDir, 'PG_VERSION'))) {
      logger.info({ clusterDir }, 'creating a private PostgreSQL cluster');
      fs.mkdirSync(settings.dataDir, { recursive: true });
      // The cluster's owner must be able to walk into the data directory to reach its own folder.
      if (owner) fs.chmodSync(settings.dataDir, fs.statSync(settings.dataDir).mode | 0o711);
      fs.mkdirSync(clusterDir, { mode: 0o700 });
      if (owner) fs.chownSync(clusterDir, owner.uid, owner.gid);
      const init = spawnSync(
        path.join(binDir, 'initdb'),
        ['-D', clusterDir, '-U', superuser, '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-instructions'],
        { uid: owner?.uid, gid: owner?.gid, encoding: 'utf8' },
      );
      if (init.status !== 0) {
        throw new ServiceError('POSTGRES_INIT_FAILED', `initdb failed in ${clusterDir}: ${(init.stderr || init.stdout || String(init.error)).trim()}`);
      }
    }
    const options = [
      '-D', clusterDir,
      '-p', String(settings.port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${path.resolve(clusterDir)}`,
      '-c', 'max_connections=200',
      '-c', 'shared_buffers=256MB',
    ];
    if (!settings.durable) options.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
    const server = supervisor.start('postgres', path.join(binDir, 'postgres'), options, {
      uid: owner?.uid,
      gid: owner?.gid,
      logFile: path.join(settings.dataDir, 'logs', 'postgres.log'),
      stopSignal: 'SIGINT',
    });
    startedByUs = true;
    await waitFor(() => answers(adminUrl), 60_000, server.exited, () =>
      new ServiceError('POSTGRES_START_FAILED', `PostgreSQL did not start on port ${settings.port}; see ${path.join(settings.dataDir, 'logs', 'postgres.log')}`),
    );
  }

  await createDatabaseIfMissing(adminUrl, settings.database);
  const socketUrl = unixSocketUrl(clusterDir, settings.port, settings.database);
  const socketVersion = socketUrl ? await serverVersion(socketUrl).catch(() => null) : null;
  if (socketUrl && socketVersion) return { databaseUrl: socketUrl, tcpUrl: databaseUrl, version: socketVersion, startedByUs };
  return { databaseUrl, tcpUrl: databaseUrl, version: await serverVersion(databaseUrl), startedByUs };
}

/**
 * The private cluster also listens on a Unix socket in its own folder. A query's round trip through
 * it costs PostgreSQL and Node less than one through loopback TCP (measured here: about 15% more
 * queries per second), so Keyflow's processes use it. Null when the port's cluster is not ours (no
 * socket there) or the path exceeds what a socket address holds (107 bytes on Linux).
 */
function unixSocketUrl(clusterDir: string, port: number, database: string): string | null {
  const folder = path.resolve(clusterDir);
  const socket = path.join(folder, `.s.PGSQL.${port}`);
  if (Buffer.byteLength(socket) > 107 || !fs.existsSync(socket)) return null;
  // pg and slonik both read a host that starts with "/" as the socket's folder.
  return `postgres://${superuser}@${encodeURIComponent(folder)}:${port}/${database}`;
}

/** The folder holding `initdb`, `pg_ctl` and `postgres`, or a ServiceError saying what to install. */
export function findPostgresBinaries(): string {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // pg_config is only there with the server's development files; look in Debian's layout too.
  }
  const debianRoot = '/usr/lib/postgresql';
  if (fs.existsSync(debianRoot)) {
    const versions = fs.readdirSync(debianRoot).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => path.join(debianRoot, version, 'bin')));
  }
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'postgres')));
  if (!found) {
    throw new ServiceError(
      'POSTGRES_NOT_INSTALLED',
      'PostgreSQL is not installed: install the server (e.g. `apt-get install postgresql-15`) or set DATABASE_URL to an existing database',
    );
  }
  return found;
}

/** PostgreSQL refuses to run as root; when we are root, the cluster belongs to the `postgres` user. */
function clusterOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = fs.readFileSync('/etc/passwd', 'utf8').split('\n');
  const entry = passwd.map((line) => line.split(':')).find((fields) => fields[0] === 'postgres');
  if (!entry) {
    throw new ServiceError('POSTGRES_NO_USER', 'running as root, but there is no `postgres` system user to own the cluster: create one or run as another user');
  }
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (existing.rowCount === 0) {
      // Identifiers cannot be bound as parameters; the config schema limits the name to [a-z0-9_].
      await client.query(`CREATE DATABASE "${database}"`);
    }
  } finally {
    await client.end();
  }
}

export async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const result = await client.query<{ server_version: string }>('SHOW server_version');
    return result.rows[0]?.server_version ?? 'unknown';
  } finally {
    await client.end();
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    await serverVersion(url);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  exited: Promise<unknown>,
  failure: () => Error,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  while (Date.now() < deadline && !gone) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw failure();
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
