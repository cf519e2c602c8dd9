/**
 * The wire format of every external system, as zod schemas: what Keyflow's adapters send and
 * accept, what the simulator implements, what the contract tests hold any implementation to, and
 * what the callbacks into Keyflow carry. sim/README.md describes the same in prose; change both.
 */
import { z } from 'zod';

/** Partners' identifiers: printable, bounded, safe in a URL path segment. */
export const partnerId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits and . _ : - only');
export const currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as CNY');
/** Money travels as integer minor units (fen for CNY), never as a float. */
export const amountMinor = z.number().int().refine(Number.isSafeInteger, 'must be a safe integer');
export const instant = z.string().datetime({ offset: true });
export const calendarDate = z.string().date();

/** Every error a partner answers with. */
export const partnerErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string().optional(), details: z.unknown().optional() }).passthrough(),
});

/** The header a partner needs to deduplicate: the same key on every retry of one logical request. */
export const idempotencyKeyHeader = 'Idempotency-Key';
/** Sent by the simulator (and welcome from any partner) when it answers a retry from its dedupe store. */
export const idempotentReplayHeader = 'Idempotent-Replayed';
export const idempotencyKeyValue = z.string().min(1).max(300).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

// --- provisioning (网管): /provisioning/v1 ---

export const serviceStatuses = ['reserved', 'activating', 'active', 'suspended', 'released', 'failed'] as const;

export const reserveRequest = z
  .object({
    customerId: partnerId,
    productCode: partnerId,
    siteAddress: z.string().min(1).max(300).optional(),
    bandwidthMbps: z.number().int().min(1).max(100_000).optional(),
  })
  .strict();
export const reserveResponse = z.object({
  reservationId: partnerId,
  serviceId: partnerId,
  status: z.literal('reserved'),
  expiresAt: instant,
});

export const activateRequest = z
  .object({
    serviceId: partnerId,
    reservationId: partnerId.optional(),
    customerId: partnerId,
    productCode: partnerId,
    parameters: z.record(z.union([z.string().max(500), z.number(), z.boolean()])).optional(),
    /** Where to send the completion; the partner's configured default when absent. */
    callbackUrl: z.string().url().max(500).optional(),
  })
  .strict();
export const activateResponse = z.object({
  requestId: partnerId,
  serviceId: partnerId,
  status: z.literal('accepted'),
});

export const serviceChangeRequest = z.object({ reason: z.string().min(1).max(500).optional() }).strict();
export const serviceStatusResponse = z.object({
  serviceId: partnerId,
  customerId: partnerId,
  productCode: partnerId,
  status: z.enum(serviceStatuses),
  changedAt: instant,
});

// --- accounting (综合营帐): /accounting/v1 ---

export const openBillingAccountRequest = z
  .object({
    customerId: partnerId,
    name: z.string().min(1).max(200),
    currency,
    billingCycleDay: z.number().int().min(1).max(28),
    contactEmail: z.string().email().max(200).optional(),
  })
  .strict();
export const billingAccountResponse = z.object({
  billingAccountId: partnerId,
  customerId: partnerId,
  status: z.enum(['open', 'closed']),
  currency,
  balanceMinor: amountMinor,
});
export const closeBillingAccountRequest = z.object({ reason: z.string().min(1).max(500).optional() }).strict();

export const postAdjustmentRequest = z
  .object({
    amountMinor: amountMinor.refine((value) => value !== 0, 'must not be zero'),
    currency,
    reason: z.string().min(1).max(500),
    reference: z.string().min(1).max(100).optional(),
  })
  .strict();
export const adjustmentResponse = z.object({
  adjustmentId: partnerId,
  billingAccountId: partnerId,
  balanceMinor: amountMinor,
});

export const postInvoiceRequest = z
  .object({
    invoiceNumber: partnerId,
    periodStart: calendarDate,
    periodEnd: calendarDate,
    amountMinor: amountMinor.refine((value) => value >= 0, 'must not be negative'),
    taxMinor: amountMinor.refine((value) => value >= 0, 'must not be negative'),
    currency,
    dueDate: calendarDate,
  })
  .strict()
  .refine((invoice) => invoice.periodStart <= invoice.periodEnd, { message: 'periodStart must not be after periodEnd', path: ['periodEnd'] });
export const invoiceResponse = z.object({
  invoiceId: partnerId,
  invoiceNumber: partnerId,
  billingAccountId: partnerId,
  balanceMinor: amountMinor,
});

// --- notify (SMS and e-mail gateway): /notify/v1 ---

export const mobileNumber = z.string().regex(/^\+?[0-9]{6,15}$/, 'a phone number such as +8613800138000');
export const sendSmsRequest = z
  .object({
    to: mobileNumber,
    text: z.string().min(1).max(1000),
    sender: z.string().min(1).max(20).optional(),
  })
  .strict();
export const sendSmsResponse = z.object({ messageId: partnerId, segments: z.number().int().min(1) });
export const sendEmailRequest = z
  .object({
    to: z.string().email().max(200),
    subject: z.string().min(1).max(200),
    text: z.string().min(1).max(20_000),
  })
  .strict();
export const sendEmailResponse = z.object({ messageId: partnerId });

// --- bank: /bank/v1 ---

export const paymentReference = z.string().regex(/^[A-Z0-9]{6,32}$/, '6–32 upper-case letters and digits');
export const registerPaymentReferenceRequest = z
  .object({
    reference: paymentReference,
    billingAccountId: partnerId,
    amountMinor: amountMinor.refine((value) => value > 0, 'must be positive'),
    currency,
    dueDate: calendarDate,
    payerName: z.string().min(1).max(200).optional(),
  })
  .strict();
export const paymentReferenceResponse = z.object({
  reference: paymentReference,
  status: z.literal('registered'),
  virtualAccount: z.string().min(1).max(64),
});

// --- usage feed (mediation): /usage/v1 ---

export const usageTypes = ['voice', 'sms', 'data'] as const;
/**
 * One usage record (CDR) as mediation delivers it — the same fields as billing's mediation files
 * (`source,record_id,usage_type,service_number,started_at,duration_sec,volume_bytes,messages,destination`).
 * Voice has `durationSec` and `destination`, SMS `messages` and `destination`, data `volumeBytes`.
 * The feed passes on what it got: malformed records (negative duration, unknown subscriber, a
 * local time without offset) are the reader's to reject.
 */
export const usageRecord = z.object({
  source: z.string().min(1).max(50),
  recordId: z.string().min(1).max(100),
  usageType: z.string().max(20),
  /** The subscriber: E.164 digits for mobile and voice lines, the circuit number for data lines. */
  serviceNumber: z.string().max(40),
  startedAt: z.string().max(40),
  durationSec: z.number().int().optional(),
  volumeBytes: z.number().int().optional(),
  messages: z.number().int().optional(),
  destination: z.string().max(40).optional(),
});
export type UsageRecord = z.infer<typeof usageRecord>;
export const usagePageQuery = z
  .object({
    after: z.string().regex(/^\d{1,15}$/).optional(),
    limit: z.coerce.number().int().min(1).max(5000).default(500),
  })
  .strict();
export const usagePage = z.object({
  records: z.array(usageRecord.extend({ cursor: z.string() })),
  /** Pass it as `after` to read on; equals the `after` given (or null) when nothing new arrived. */
  nextCursor: z.string().nullable(),
});

// --- callbacks into Keyflow: POST /api/callbacks/<system> ---

export const provisioningCallback = z
  .object({
    eventId: partnerId,
    requestId: partnerId,
    /** The Idempotency-Key of the activation this reports on: Keyflow's correlation. */
    idempotencyKey: idempotencyKeyValue,
    serviceId: partnerId,
    status: z.enum(['in_progress', 'completed', 'failed']),
    /** Increases with each event of one request; an event older than one already applied is stale. */
    sequence: z.number().int().min(1).max(1_000_000),
    occurredAt: instant,
    reason: z.object({ code: z.string().min(1).max(100), message: z.string().max(500).optional() }).strict().optional(),
  })
  .strict();
export type ProvisioningCallback = z.infer<typeof provisioningCallback>;

export const bankPaymentCallback = z
  .object({
    eventId: partnerId,
    reference: paymentReference,
    bankTransactionId: partnerId,
    amountMinor: amountMinor.refine((value) => value > 0, 'must be positive'),
    currency,
    paidAt: instant,
    payerName: z.string().max(200).optional(),
  })
  .strict();
export type BankPaymentCallback = z.infer<typeof bankPaymentCallback>;

export const alarmSeverities = ['critical', 'major', 'minor', 'warning'] as const;
export const alarmCallback = z
  .object({
    eventId: partnerId,
    alarmId: partnerId,
    serviceId: partnerId,
    state: z.enum(['raised', 'cleared']),
    severity: z.enum(alarmSeverities),
    probableCause: z.string().min(1).max(200),
    occurredAt: instant,
    /** The network element the alarm is on: Keyflow opens (and clears) a fault ticket for every key account with a live subscription there. */
    networkElementId: partnerId.optional(),
  })
  .strict();
export type AlarmCallback = z.infer<typeof alarmCallback>;

/** How Keyflow answers a callback it accepted (2xx). */
export const callbackOutcomes = ['delivered', 'duplicate', 'stale', 'recorded'] as const;
export type CallbackOutcome = (typeof callbackOutcomes)[number];
