import type { UsageRecord } from '../activities/external/wire';
import { createRandom } from './faults';

/** A request the simulator accepted and did: the ledger tests read to count side effects. */
export interface LedgerEntry {
  seq: number;
  at: string;
  system: string;
  operation: string;
  idempotencyKey: string;
  method: string;
  path: string;
  request: unknown;
  status: number;
  response: unknown;
}

/** Every request that arrived, whatever became of it: tests read it for attempts and their timing. */
export interface RequestLogEntry {
  seq: number;
  at: string;
  /** Milliseconds since the epoch, for timing assertions without parsing. */
  atMs: number;
  system: string;
  operation: string;
  method: string;
  path: string;
  idempotencyKey?: string;
  outcome: 'pending' | 'accepted' | 'replayed' | 'refused' | 'invalid' | 'unauthorized' | 'fault' | 'outage' | 'timeout' | 'conflict';
  status?: number;
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface SimService {
  serviceId: string;
  customerId: string;
  productCode: string;
  status: 'reserved' | 'activating' | 'active' | 'suspended' | 'released' | 'failed';
  changedAt: string;
  reservationId?: string;
}

export interface SimAccount {
  billingAccountId: string;
  customerId: string;
  name: string;
  currency: string;
  status: 'open' | 'closed';
  balanceMinor: number;
  invoiceNumbers: Set<string>;
}

export interface SimReference {
  reference: string;
  billingAccountId: string;
  amountMinor: number;
  currency: string;
  idempotencyKey: string;
}

const requestLogLimit = 50_000;

/** Everything the simulator remembers; in memory, gone when it stops (`POST /sim/reset` clears it). */
export class SimulatorState {
  ledger: LedgerEntry[] = [];
  requests: RequestLogEntry[] = [];
  /** `<system> <idempotency key>` → the first answer and a hash of the request it answered. */
  dedupe = new Map<string, { hash: string; reply: Reply }>();
  services = new Map<string, SimService>();
  accounts = new Map<string, SimAccount>();
  references = new Map<string, SimReference>();
  usage: (UsageRecord & { cursor: string })[] = [];
  random: () => number;
  private counters = new Map<string, number>();

  constructor(seed = 1) {
    this.random = createRandom(seed);
  }

  reset(seed = 1): void {
    this.ledger = [];
    this.requests = [];
    this.dedupe.clear();
    this.services.clear();
    this.accounts.clear();
    this.references.clear();
    this.usage = [];
    this.counters.clear();
    this.random = createRandom(seed);
  }

  /** `PREFIX` + a zero-padded counter per prefix: readable ids that never repeat in one run. */
  nextId(prefix: string): string {
    const next = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, next);
    return `${prefix}${String(next).padStart(8, '0')}`;
  }

  logRequest(entry: Omit<RequestLogEntry, 'seq' | 'outcome'>): RequestLogEntry {
    const logged: RequestLogEntry = { ...entry, seq: this.requests.length === 0 ? 1 : this.requests[this.requests.length - 1]!.seq + 1, outcome: 'pending' };
    this.requests.push(logged);
    if (this.requests.length > requestLogLimit) this.requests.splice(0, this.requests.length - requestLogLimit);
    return logged;
  }
}
