import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * How a partner signs a callback into Keyflow (sim/README.md, "Callbacks"): HMAC-SHA256 with the
 * secret shared with that system, over `<timestamp>.<nonce>.<raw body>`, sent as
 * `Keyflow-Signature: v1=<hex>`. The timestamp bounds how old a request may be; the nonce makes
 * each delivery unique, so a captured request replayed inside the window is recognised.
 */
export const signatureHeaders = {
  timestamp: 'keyflow-timestamp',
  nonce: 'keyflow-nonce',
  signature: 'keyflow-signature',
} as const;

const noncePattern = /^[A-Za-z0-9_-]{16,64}$/;
const timestampPattern = /^\d{1,12}$/;
const signaturePattern = /^v1=([0-9a-f]{64})$/;

export function computeSignature(secret: string, timestamp: string, nonce: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.${nonce}.`).update(body).digest('hex');
}

/** Headers that sign `body` now; a fresh nonce each call, so every delivery attempt is distinct. */
export function signCallback(secret: string, body: string, now: Date, nonce = randomBytes(16).toString('hex')): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return {
    [signatureHeaders.timestamp]: timestamp,
    [signatureHeaders.nonce]: nonce,
    [signatureHeaders.signature]: `v1=${computeSignature(secret, timestamp, nonce, body)}`,
  };
}

export type SignatureRefusal = 'SIGNATURE_MISSING' | 'SIGNATURE_MALFORMED' | 'SIGNATURE_STALE' | 'SIGNATURE_INVALID';
export type SignatureCheck = { ok: true; timestamp: number; nonce: string } | { ok: false; reason: SignatureRefusal };

export interface VerifyInput {
  secret: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  now: Date;
  windowSeconds: number;
}

/**
 * Checks a callback's signature. The timestamp is checked before the HMAC so a stale request costs
 * nothing; the comparison is constant-time. Several `v1=` values (comma-separated) are allowed so a
 * partner can sign with the old and the new secret while they rotate.
 */
export function verifySignature({ secret, headers, body, now, windowSeconds }: VerifyInput): SignatureCheck {
  const timestamp = single(headers[signatureHeaders.timestamp]);
  const nonce = single(headers[signatureHeaders.nonce]);
  const signature = single(headers[signatureHeaders.signature]);
  if (timestamp === undefined || nonce === undefined || signature === undefined) return { ok: false, reason: 'SIGNATURE_MISSING' };
  const candidates = signature.split(',').map((part) => signaturePattern.exec(part.trim())?.[1]);
  if (!timestampPattern.test(timestamp) || !noncePattern.test(nonce) || candidates.some((candidate) => candidate === undefined)) {
    return { ok: false, reason: 'SIGNATURE_MALFORMED' };
  }
  const seconds = Number(timestamp);
  if (Math.abs(now.getTime() / 1000 - seconds) > windowSeconds) return { ok: false, reason: 'SIGNATURE_STALE' };
  const expected = Buffer.from(computeSignature(secret, timestamp, nonce, body), 'hex');
  const matches = candidates.some((candidate) => timingSafeEqual(Buffer.from(candidate!, 'hex'), expected));
  return matches ? { ok: true, timestamp: seconds, nonce } : { ok: false, reason: 'SIGNATURE_INVALID' };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}
