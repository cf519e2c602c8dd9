import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import { z } from 'zod';
import {
  alarmSeverities,
  amountMinor,
  currency,
  idempotencyKeyHeader,
  idempotencyKeyValue,
  idempotentReplayHeader,
  instant,
  partnerId,
  paymentReference,
  usageRecord,
} from '../activities/external/wire';
import type { Logger } from '../runtime/logger';
import { externalSystems, type CallbackSystem, type ExternalSystem } from '../workflows/external';
import { CallbackSender } from './callbacks';
import { FaultStore, faultUpdate, type FaultSettings } from './faults';
import { SimulatorState, type Reply, type RequestLogEntry } from './state';
import { partnerRoutes, refuse, type PartnerRoute } from './systems';

export interface SimulatorOptions {
  /** Bearer token each system requires; a system without one accepts any caller. */
  tokens: Partial<Record<ExternalSystem, string>>;
  /** Secret each callback is signed with; unsigned when missing (Keyflow will refuse it). */
  callbackSecrets: Partial<Record<CallbackSystem, string>>;
  /** Keyflow's base URL: callbacks go there, and a request naming another callback address is refused. */
  callbackBaseUrl: string;
  /**
   * Bearer token the control API (`/sim/*` except `/sim/health`) requires: it posts bank payments
   * signed with the real secret and shows the ledger with customers' phone numbers.
   */
  controlToken: string;
  callbackDelayMs: number;
  /** Misbehaviour that applies until a fault setting overrides it (e.g. occasional duplicate callbacks). */
  baselineFaults?: FaultSettings;
  seed?: number;
  logger?: Logger;
}

export interface Simulator {
  app: Express;
  state: SimulatorState;
  faults: FaultStore;
  callbacks: CallbackSender;
  close(): void;
}

/** The simulator of every external system plus its control API under `/sim` (sim/README.md). */
export function createSimulator(options: SimulatorOptions): Simulator {
  const state = new SimulatorState(options.seed ?? 1);
  const faults = new FaultStore(options.baselineFaults);
  const callbacks = new CallbackSender({ secrets: options.callbackSecrets, defaultBaseUrl: options.callbackBaseUrl, now: () => new Date(), logger: options.logger });
  const pendingHangs = new Set<() => void>();
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '1mb' }));

  app.use('/sim', (req, res, next) => {
    if (req.path === '/health') return next();
    const given = Buffer.from(req.get('authorization') ?? '');
    const expected = Buffer.from(`Bearer ${options.controlToken}`);
    if (options.controlToken.length < 16 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return void res.status(401).json({ error: { code: 'UNAUTHENTICATED', message: 'the control API needs Authorization: Bearer <KEYFLOW_SIM_CONTROL_TOKEN>' } });
    }
    next();
  });
  for (const route of partnerRoutes({ state, callbacks, callbackDelayMs: options.callbackDelayMs })) mountPartnerRoute(route);
  mountControlRoutes();

  app.use((req, res) => void res.status(404).json({ error: { code: 'NOT_FOUND', message: `no route for ${req.method} ${req.path}` } }));
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const status = typeof error?.status === 'number' && error.status < 500 ? error.status : 500;
    if (status === 500) options.logger?.error({ err: error }, 'simulator error');
    if (!res.headersSent) res.status(status).json({ error: { code: status === 400 ? 'BAD_REQUEST' : status === 413 ? 'PAYLOAD_TOO_LARGE' : 'INTERNAL', message: status === 500 ? 'internal error' : error.message } });
  };
  app.use(onError);

  function refuseForeignCallback(url: string | undefined): void {
    if (!callbacks.allows(url)) throw Object.assign(new Error(`callbackUrl must be the configured Keyflow API (${options.callbackBaseUrl})`), { status: 400 });
  }

  return {
    app,
    state,
    faults,
    callbacks,
    close() {
      callbacks.close();
      for (const release of pendingHangs) release();
    },
  };

  /**
   * One partner endpoint behind the misbehaviour every request goes through: auth, then latency,
   * outage and injected errors (nothing done), then validation, dedupe by idempotency key (a retry
   * gets the first answer and writes nothing), the work itself (ledger), and an injected timeout
   * (done, but unanswered).
   */
  function mountPartnerRoute(route: PartnerRoute): void {
    app[route.method](`/${route.system}/v1${route.path}`, async (req: Request, res: Response) => {
      const key = req.get(idempotencyKeyHeader);
      const logged = state.logRequest({
        at: new Date().toISOString(),
        atMs: Date.now(),
        system: route.system,
        operation: route.operation,
        method: req.method,
        path: req.path,
        idempotencyKey: key,
      });
      const answer = (outcome: RequestLogEntry['outcome'], reply: Reply) => {
        logged.outcome = outcome;
        logged.status = reply.status;
        for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
        res.status(reply.status).json(reply.body);
      };

      const token = options.tokens[route.system];
      if (token && req.get('authorization') !== `Bearer ${token}`) return answer('unauthorized', refuse(401, 'UNAUTHENTICATED', 'a valid bearer token is required'));

      const settings = faults.resolve(route.operation);
      const latency = settings.latencyMs + Math.floor(state.random() * settings.jitterMs);
      if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
      const retryAfter = settings.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(settings.retryAfterSeconds) };
      if (settings.outage) return answer('outage', { ...refuse(503, 'OUTAGE', `${route.system} is down for maintenance`), headers: retryAfter });
      const forced = faults.take(route.operation, 'failNext');
      if (forced || state.random() < settings.errorRate) {
        const status = (forced ? settings.errorStatuses[0] : settings.errorStatuses[Math.floor(state.random() * settings.errorStatuses.length)]) ?? 503;
        const code = status === 429 ? 'RATE_LIMITED' : status === 504 ? 'UPSTREAM_TIMEOUT' : 'INTERNAL';
        return answer('fault', { ...refuse(status, code, `injected ${status}`), headers: status === 429 || status === 503 ? retryAfter : undefined });
      }

      let body: unknown = undefined;
      if (route.method === 'post') {
        if (key === undefined) return answer('invalid', refuse(400, 'IDEMPOTENCY_KEY_MISSING', `the ${idempotencyKeyHeader} header is required`));
        if (!idempotencyKeyValue.safeParse(key).success) return answer('invalid', refuse(400, 'VALIDATION_FAILED', `the ${idempotencyKeyHeader} header is malformed`));
        const parsed = route.body!.safeParse(req.body ?? {});
        if (!parsed.success) return answer('invalid', validationFailed(parsed.error));
        body = parsed.data;
      } else if (route.query) {
        const parsed = route.query.safeParse(req.query);
        if (!parsed.success) return answer('invalid', validationFailed(parsed.error));
      }

      let reply: Reply;
      let outcome: RequestLogEntry['outcome'];
      if (route.method === 'post') {
        const dedupeKey = `${route.system} ${key}`;
        const hash = createHash('sha256').update(`${req.method} ${req.path} ${stableStringify(body)}`).digest('hex');
        const first = state.dedupe.get(dedupeKey);
        if (first && first.hash !== hash) return answer('conflict', refuse(409, 'IDEMPOTENCY_KEY_REUSED', 'this idempotency key came with a different request'));
        if (first) {
          reply = { ...first.reply, headers: { ...first.reply.headers, [idempotentReplayHeader]: 'true' } };
          outcome = 'replayed';
        } else {
          reply = route.handle({ body, params: req.params as Record<string, string>, query: req.query, idempotencyKey: key, faults: settings, shortage: () => faults.take(route.operation, 'noCapacityNext'), now: new Date() });
          state.dedupe.set(dedupeKey, { hash, reply });
          outcome = reply.status < 300 ? 'accepted' : 'refused';
          if (reply.status < 300) {
            state.ledger.push({
              seq: state.ledger.length + 1,
              at: new Date().toISOString(),
              system: route.system,
              operation: route.operation,
              idempotencyKey: key!,
              method: req.method,
              path: req.path,
              request: body,
              status: reply.status,
              response: reply.body,
            });
          }
        }
      } else {
        reply = route.handle({ body: undefined, params: req.params as Record<string, string>, query: req.query, faults: settings, now: new Date() });
        outcome = reply.status < 300 ? 'accepted' : 'refused';
      }

      const hang = faults.take(route.operation, 'timeoutNext') || state.random() < settings.timeoutRate;
      if (hang) {
        logged.outcome = 'timeout';
        await new Promise<void>((resolve) => {
          const release = () => {
            clearTimeout(timer);
            pendingHangs.delete(release);
            resolve();
          };
          const timer = setTimeout(release, settings.hangMs);
          pendingHangs.add(release);
          res.once('close', release);
        });
        if (res.writableEnded || res.destroyed) return;
      }
      answer(hang ? 'timeout' : outcome, reply);
    });
  }

  function mountControlRoutes(): void {
    const listQuery = z.object({
      system: z.string().optional(),
      operation: z.string().optional(),
      idempotencyKey: z.string().optional(),
      idempotencyKeyPrefix: z.string().optional(),
      limit: z.coerce.number().int().min(0).max(100_000).default(1_000),
    });
    const matches = (query: z.infer<typeof listQuery>) => (entry: { system: string; operation: string; idempotencyKey?: string }) =>
      (!query.system || entry.system === query.system) &&
      (!query.operation || entry.operation === query.operation) &&
      (!query.idempotencyKey || entry.idempotencyKey === query.idempotencyKey) &&
      (!query.idempotencyKeyPrefix || (entry.idempotencyKey ?? '').startsWith(query.idempotencyKeyPrefix));

    app.get('/sim/health', (_req, res) => {
      res.json({ status: 'up', systems: externalSystems, ledgerEntries: state.ledger.length, pendingCallbacks: callbacks.pending });
    });
    app.get('/sim/ledger', (req, res) => {
      const query = control(listQuery, req.query);
      const entries = state.ledger.filter(matches(query));
      res.json({ count: entries.length, entries: query.limit === 0 ? [] : entries.slice(-query.limit) });
    });
    app.get('/sim/requests', (req, res) => {
      const query = control(listQuery, req.query);
      const entries = state.requests.filter(matches(query));
      res.json({ count: entries.length, entries: query.limit === 0 ? [] : entries.slice(-query.limit) });
    });
    app.get('/sim/callbacks', (req, res) => {
      const query = control(z.object({ system: z.string().optional(), eventId: z.string().optional() }), req.query);
      res.json({ pending: callbacks.pending, deliveries: callbacks.deliveries(query) });
    });
    app.get('/sim/faults', (_req, res) => void res.json(faults.snapshot()));
    app.post('/sim/faults', (req, res) => {
      faults.update(control(faultUpdate, req.body));
      res.json(faults.snapshot());
    });
    app.delete('/sim/faults', (_req, res) => {
      faults.clear();
      res.json(faults.snapshot());
    });
    app.post('/sim/reset', (req, res) => {
      const { seed } = control(z.object({ seed: z.number().int().min(0).optional() }).strict(), req.body ?? {});
      state.reset(seed ?? options.seed ?? 1);
      faults.clear();
      callbacks.clear();
      res.json({ status: 'reset' });
    });
    app.post('/sim/settings', (req, res) => {
      const { callbackBaseUrl } = control(z.object({ callbackBaseUrl: z.string().url().optional() }).strict(), req.body ?? {});
      if (callbackBaseUrl) callbacks.setDefaultBaseUrl(callbackBaseUrl.replace(/\/+$/, ''));
      res.json({ status: 'ok' });
    });

    const paymentOrder = z
      .object({
        reference: paymentReference,
        amountMinor: amountMinor.refine((value) => value > 0, 'must be positive'),
        currency: currency.default('CNY'),
        payerName: z.string().min(1).max(200).optional(),
        bankTransactionId: partnerId.optional(),
        paidAt: instant.optional(),
        delayMs: z.number().int().min(0).max(600_000).default(0),
        /** Deliver this event twice (the same event id): a bank's redelivery. */
        duplicate: z.boolean().default(false),
        callbackUrl: z.string().url().optional(),
      })
      .strict();
    app.post('/sim/bank/payments', (req, res) => {
      const order = control(paymentOrder, req.body);
      refuseForeignCallback(order.callbackUrl);
      const event = {
        eventId: `evt-${randomUUID()}`,
        reference: order.reference,
        bankTransactionId: order.bankTransactionId ?? state.nextId('TXN'),
        amountMinor: order.amountMinor,
        currency: order.currency,
        paidAt: order.paidAt ?? new Date().toISOString(),
        ...(order.payerName ? { payerName: order.payerName } : {}),
      };
      callbacks.schedule('bank', order.callbackUrl, event, order.delayMs);
      if (order.duplicate) callbacks.schedule('bank', order.callbackUrl, event, order.delayMs + 100, 2);
      res.status(202).json(event);
    });

    const alarmOrder = z
      .object({
        serviceId: partnerId,
        state: z.enum(['raised', 'cleared']).default('raised'),
        severity: z.enum(alarmSeverities).default('major'),
        probableCause: z.string().min(1).max(200).default('LOSS_OF_SIGNAL'),
        alarmId: partnerId.optional(),
        delayMs: z.number().int().min(0).max(600_000).default(0),
        duplicate: z.boolean().default(false),
        callbackUrl: z.string().url().optional(),
        networkElementId: partnerId.optional(),
      })
      .strict();
    app.post('/sim/alarms', (req, res) => {
      const order = control(alarmOrder, req.body);
      refuseForeignCallback(order.callbackUrl);
      const event = {
        eventId: `evt-${randomUUID()}`,
        alarmId: order.alarmId ?? state.nextId('ALM'),
        serviceId: order.serviceId,
        state: order.state,
        severity: order.severity,
        probableCause: order.probableCause,
        occurredAt: new Date().toISOString(),
        ...(order.networkElementId ? { networkElementId: order.networkElementId } : {}),
      };
      callbacks.schedule('alarms', order.callbackUrl, event, order.delayMs);
      if (order.duplicate) callbacks.schedule('alarms', order.callbackUrl, event, order.delayMs + 100, 2);
      res.status(202).json(event);
    });

    app.post('/sim/usage', (req, res) => {
      const { records } = control(z.object({ records: z.array(usageRecord).min(1).max(100_000) }).strict(), req.body);
      const first = state.usage.length + 1;
      for (const record of records) state.usage.push({ ...record, cursor: String(state.usage.length + 1) });
      res.status(201).json({ count: records.length, firstCursor: String(first), lastCursor: String(state.usage.length) });
    });
    const generateOrder = z
      .object({
        serviceNumber: z.string().min(1).max(40),
        count: z.number().int().min(1).max(1_000_000),
        from: instant,
        to: instant,
        usageTypes: z.array(z.enum(['voice', 'sms', 'data'])).min(1).default(['voice', 'sms', 'data']),
      })
      .strict()
      .refine((order) => Date.parse(order.from) < Date.parse(order.to), { message: 'from must be before to', path: ['to'] });
    app.post('/sim/usage/generate', (req, res) => {
      const order = control(generateOrder, req.body);
      const first = state.usage.length + 1;
      const span = Date.parse(order.to) - Date.parse(order.from);
      const destinations = ['02087654321', '01012345678', '13800138000', '0085223456789', '0014155550100', '075512345678'];
      for (let i = 0; i < order.count; i += 1) {
        const usageType = order.usageTypes[Math.floor(state.random() * order.usageTypes.length)]!;
        const startedAt = new Date(Date.parse(order.from) + Math.floor((span * i) / order.count)).toISOString();
        const base = { source: 'sim-mediation', recordId: state.nextId('CDR'), usageType, serviceNumber: order.serviceNumber, startedAt };
        const destination = () => destinations[Math.floor(state.random() * destinations.length)]!;
        const record =
          usageType === 'voice'
            ? { ...base, durationSec: 1 + Math.floor(state.random() * 1200), destination: destination() }
            : usageType === 'sms'
              ? { ...base, messages: 1, destination: destination() }
              : { ...base, volumeBytes: 1024 * (1 + Math.floor(state.random() * 500_000)) };
        state.usage.push({ ...record, cursor: String(state.usage.length + 1) });
      }
      res.status(201).json({ count: order.count, firstCursor: String(first), lastCursor: String(state.usage.length) });
    });
  }
}

/** Parses a control request; a failure answers 400 with the failing fields. */
function control<S extends z.ZodTypeAny>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw Object.assign(new Error(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ')), { status: 400 });
  return parsed.data;
}

function validationFailed(error: z.ZodError): Reply {
  return {
    status: 400,
    body: { error: { code: 'VALIDATION_FAILED', message: 'invalid request', details: error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message })) } },
  };
}

/** JSON with object keys sorted: two equal requests hash the same whatever their key order. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${stableStringify((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
