import { instanceFilter } from '../ops/find';
import { replayCheck } from '../ops/replay';
import { loadConfig } from '../runtime/config';
import { createTemporalClient } from '../runtime/temporal-client';
import { bundleWorkflows } from '../runtime/workflow-bundle';

/**
 * `keyflow ops …`: the ops API for people who live in terminals. Every command is one API call
 * (so the same roles, validation and audit apply); the answer is printed as JSON.
 */
export const opsUsage = `usage: keyflow ops <command> [options]

  Connection: --url (KEYFLOW_URL, default http://KEYFLOW_API_HOST:KEYFLOW_API_PORT),
              --user (KEYFLOW_USER), --password (KEYFLOW_PASSWORD); the login needs the ops role.

  Find       incidents | instances [--status incident|running|failed|timedOut|terminated|…]
               [--process KEY] [--version N] [--node ID] [--error TEXT] [--business-key K]
               [--customer C] [--started-after ISO] [--started-before ISO] [--limit N]
             counts [same filters]
             show <workflowId> | timeline <workflowId> | audit <workflowId>
  Fix one    retry <workflowId> <incidentId> --reason R [--vars JSON]
             skip <workflowId> <incidentId> --reason R --vars JSON
             move <workflowId> --from NODE --to NODE --reason R [--vars JSON]
             reset <workflowId> --reason R [--event N | --node ID]   (default: before the last failure)
             cancel <workflowId> --reason R        terminate <workflowId> --reason R
             migrate <workflowId> --to-version N --map old=new[,old=new…] --reason R
  Fix many   batch <retry|skip|cancel|terminate|reset|move|migrate> --reason R [filters]
               [--rate N] [--dry-run] [--params JSON]          batch-status <batchId>
  Replay     replay-check [filters] [--sample N] [--limit N] [--new-version KEY:N]
             (exits 1 when an instance would not replay)
`;

class UsageError extends Error {}

interface Parsed {
  positional: string[];
  options: Map<string, string | true>;
}

function parseArgs(args: string[]): Parsed {
  const positional: string[] = [];
  const options = new Map<string, string | true>();
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (inline !== undefined) options.set(name, inline);
    else if (args[index + 1] !== undefined && !args[index + 1]!.startsWith('--')) options.set(name, args[++index]!);
    else options.set(name, true);
  }
  return { positional, options };
}

function text(parsed: Parsed, name: string): string | undefined {
  const value = parsed.options.get(name);
  if (value === true) throw new UsageError(`--${name} needs a value`);
  return value;
}

function required(parsed: Parsed, name: string): string {
  const value = text(parsed, name);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

function json(parsed: Parsed, name: string): Record<string, unknown> | undefined {
  const value = text(parsed, name);
  if (value === undefined) return undefined;
  try {
    const result: unknown = JSON.parse(value);
    if (typeof result !== 'object' || result === null || Array.isArray(result)) throw new Error('not an object');
    return result as Record<string, unknown>;
  } catch {
    throw new UsageError(`--${name} must be a JSON object, e.g. '{"approved":true}'`);
  }
}

function int(parsed: Parsed, name: string): number | undefined {
  const value = text(parsed, name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number`);
  return Number(value);
}

const filterOptions: [option: string, field: string][] = [
  ['status', 'status'],
  ['process', 'processKey'],
  ['version', 'processVersion'],
  ['node', 'nodeId'],
  ['error', 'errorContains'],
  ['business-key', 'businessKey'],
  ['customer', 'customerId'],
  ['started-after', 'startedAfter'],
  ['started-before', 'startedBefore'],
  ['closed-after', 'closedAfter'],
  ['closed-before', 'closedBefore'],
  ['type', 'workflowType'],
  ['task-queue', 'taskQueue'],
];

function filterOf(parsed: Parsed, defaults: Record<string, string> = {}): Record<string, string | number> {
  const filter: Record<string, string | number> = { ...defaults };
  for (const [option, field] of filterOptions) {
    const value = text(parsed, option);
    if (value !== undefined) filter[field] = field === 'processVersion' ? Number(value) : value;
  }
  return filter;
}

function query(values: Record<string, string | number | undefined>): string {
  const entries = Object.entries(values).filter((entry): entry is [string, string | number] => entry[1] !== undefined);
  return entries.length ? `?${new URLSearchParams(entries.map(([key, value]): [string, string] => [key, String(value)])).toString()}` : '';
}

class OpsClient {
  private token?: string;
  constructor(
    private readonly url: string,
    private readonly user: string,
    private readonly password: string,
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<any> {
    if (!this.token) {
      const login = await this.fetch('POST', '/api/auth/login', { username: this.user, password: this.password }, false);
      this.token = login.token;
    }
    return this.fetch(method, path, body, true);
  }

  private async fetch(method: string, path: string, body: unknown, authorised: boolean): Promise<any> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(authorised ? { authorization: `Bearer ${this.token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new OpsCliError(`cannot reach the API at ${this.url}: ${(error as Error).message}`);
    }
    const answer = (await response.json().catch(() => ({}))) as any;
    if (!response.ok) {
      const error = answer?.error ?? {};
      const details = error.details === undefined ? '' : ` ${JSON.stringify(error.details)}`;
      throw new OpsCliError(`${response.status} ${error.code ?? ''}: ${error.message ?? 'request failed'}${details}`);
    }
    return answer;
  }
}

export class OpsCliError extends Error {}

const instance = (id: string) => `/api/ops/instances/${encodeURIComponent(id)}`;

/** Runs one `keyflow ops` command; returns the exit code. */
export async function runOps(args: string[], print: (line: string) => void = (line) => console.log(line)): Promise<number> {
  const parsed = parseArgs(args);
  const [command, ...rest] = parsed.positional;
  if (!command || command === 'help' || parsed.options.has('help')) {
    print(opsUsage);
    return command ? 0 : 2;
  }
  try {
    const config = loadConfig();
    const url = (text(parsed, 'url') ?? process.env.KEYFLOW_URL ?? `http://${config.KEYFLOW_API_HOST}:${config.KEYFLOW_API_PORT}`).replace(/\/$/, '');
    const user = text(parsed, 'user') ?? process.env.KEYFLOW_USER;
    const password = text(parsed, 'password') ?? process.env.KEYFLOW_PASSWORD;
    if (!user || !password) throw new UsageError('give --user and --password (or KEYFLOW_USER and KEYFLOW_PASSWORD)');
    const api = new OpsClient(url, user, password);
    const target = () => {
      if (!rest[0]) throw new UsageError(`${command} needs a workflow id`);
      return rest[0];
    };
    const reason = () => required(parsed, 'reason');
    let result: any;
    switch (command) {
      case 'incidents':
      case 'instances':
        result = await api.call('GET', `/api/ops/instances${query({ ...filterOf(parsed, command === 'incidents' ? { status: 'incident' } : {}), limit: int(parsed, 'limit') })}`);
        break;
      case 'counts':
        result = await api.call('GET', `/api/ops/counts${query(filterOf(parsed))}`);
        break;
      case 'show':
        result = await api.call('GET', instance(target()));
        break;
      case 'timeline':
        result = await api.call('GET', `${instance(target())}/timeline`);
        break;
      case 'audit':
        result = await api.call('GET', `${instance(target())}/audit`);
        break;
      case 'retry':
      case 'skip': {
        const incidentId = rest[1];
        if (!incidentId) throw new UsageError(`${command} needs a workflow id and an incident id`);
        const variables = command === 'skip' ? (json(parsed, 'vars') ?? {}) : json(parsed, 'vars');
        result = await api.call('POST', `${instance(target())}/incidents/${encodeURIComponent(incidentId)}/${command}`, { reason: reason(), variables });
        break;
      }
      case 'move':
        result = await api.call('POST', `${instance(target())}/move`, { reason: reason(), fromNodeId: required(parsed, 'from'), toNodeId: required(parsed, 'to'), variables: json(parsed, 'vars') });
        break;
      case 'reset':
        result = await api.call('POST', `${instance(target())}/reset`, { reason: reason(), eventId: int(parsed, 'event'), nodeId: text(parsed, 'node') });
        break;
      case 'cancel':
      case 'terminate':
        result = await api.call('POST', `${instance(target())}/${command}`, { reason: reason() });
        break;
      case 'migrate':
        result = await api.call('POST', `${instance(target())}/migrate`, { reason: reason(), toVersion: int(parsed, 'to-version'), nodeMapping: mapping(required(parsed, 'map')) });
        break;
      case 'batch': {
        const action = rest[0];
        if (!action) throw new UsageError('batch needs an action: retry, skip, cancel, terminate, reset, move or migrate');
        const params = json(parsed, 'params') ?? {};
        if (text(parsed, 'vars') !== undefined) params.variables = json(parsed, 'vars');
        if (text(parsed, 'node') !== undefined && (action === 'retry' || action === 'skip' || action === 'reset')) params.nodeId = text(parsed, 'node');
        if (text(parsed, 'error') !== undefined && (action === 'retry' || action === 'skip')) params.errorContains = text(parsed, 'error');
        result = await api.call('POST', '/api/ops/batches', {
          action,
          filter: filterOf(parsed),
          params,
          reason: reason(),
          ratePerSecond: int(parsed, 'rate'),
          dryRun: parsed.options.has('dry-run'),
        });
        break;
      }
      case 'batch-status':
        if (!rest[0]) throw new UsageError('batch-status needs a batch id');
        result = await api.call('GET', `/api/ops/batches/${encodeURIComponent(rest[0])}`);
        break;
      case 'replay-check': {
        const newVersion = text(parsed, 'new-version');
        const match = newVersion === undefined ? undefined : /^(.+):(\d+)$/.exec(newVersion);
        if (newVersion !== undefined && !match) throw new UsageError('--new-version is KEY:VERSION, e.g. order-fulfilment:4');
        const { status: _status, ...filter } = filterOf(parsed);
        result = await api.call('POST', '/api/ops/replay-check', {
          filter,
          samplePerVersion: int(parsed, 'sample'),
          limit: int(parsed, 'limit'),
          newVersion: match ? { processKey: match[1], version: Number(match[2]) } : undefined,
        });
        print(JSON.stringify(result, null, 2));
        return result.nonDeterministic > 0 ? 1 : 0;
      }
      default:
        throw new UsageError(`unknown ops command ${JSON.stringify(command)}`);
    }
    print(JSON.stringify(result, null, 2));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`keyflow ops: ${error.message} (see \`keyflow ops help\`)`);
      return 2;
    }
    if (error instanceof OpsCliError) {
      console.error(`keyflow ops: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

function mapping(value: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const [from, to] = pair.split('=');
    if (!from || !to) throw new UsageError('--map is old=new[,old=new…]');
    result[from.trim()] = to.trim();
  }
  return result;
}

/**
 * `keyflow replay-check` (`npm run replay-check`): the same check without the API — for CI and for
 * a deploy script with access to Temporal. Replays running instances (all, or `--sample N` per
 * process version) against the workflow code in this checkout; exits 1 on any non-determinism.
 */
export async function runReplayCheckDirect(args: string[], print: (line: string) => void = (line) => console.log(line)): Promise<number> {
  const parsed = parseArgs(args);
  try {
    const { status: _status, ...rawFilter } = filterOf(parsed);
    const filter = instanceFilter.omit({ status: true }).safeParse(rawFilter);
    if (!filter.success) throw new UsageError(filter.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    const config = loadConfig();
    const client = await createTemporalClient(config);
    try {
      const report = await replayCheck(client, await bundleWorkflows(), { filter: filter.data, samplePerVersion: int(parsed, 'sample'), limit: int(parsed, 'limit') ?? 5000 });
      print(JSON.stringify(report, null, 2));
      return report.nonDeterministic > 0 ? 1 : 0;
    } finally {
      await client.connection.close();
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`keyflow replay-check: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
