import fs from 'node:fs';
import path from 'node:path';
import { createHmac } from 'node:crypto';
import { computeSignature, signatureHeaders, signCallback, verifySignature } from '../../../activities/external/signature';

describe('callback signatures', () => {
  const secret = 'a-shared-secret-of-enough-length';
  const body = Buffer.from(JSON.stringify({ eventId: 'evt-1', status: 'completed' }));
  const now = new Date('2025-06-01T08:00:00Z');
  const verify = (headers: Record<string, string | undefined>, overrides: Partial<Parameters<typeof verifySignature>[0]> = {}) =>
    verifySignature({ secret, headers, body, now, windowSeconds: 300, ...overrides });

  it('is HMAC-SHA256 over "<timestamp>.<nonce>.<raw body>", hex, as sim/README.md documents', () => {
    // computed independently of the module, from the documented recipe
    const expected = createHmac('sha256', secret).update(`1748764800.0123456789abcdef0123456789abcdef.${body.toString()}`).digest('hex');
    expect(computeSignature(secret, '1748764800', '0123456789abcdef0123456789abcdef', body)).toBe(expected);
    expect(signCallback(secret, body.toString(), now, '0123456789abcdef0123456789abcdef')).toEqual({
      'keyflow-timestamp': '1748764800',
      'keyflow-nonce': '0123456789abcdef0123456789abcdef',
      'keyflow-signature': `v1=${expected}`,
    });
  });

  it('accepts what signCallback produced, with its timestamp and nonce', () => {
    const headers = signCallback(secret, body.toString(), now);
    expect(verify(headers)).toEqual({ ok: true, timestamp: 1748764800, nonce: headers[signatureHeaders.nonce] });
  });

  it('gives every delivery its own nonce', () => {
    expect(signCallback(secret, body.toString(), now)[signatureHeaders.nonce]).not.toBe(signCallback(secret, body.toString(), now)[signatureHeaders.nonce]);
  });

  it('refuses another secret, another body, another timestamp or another nonce as invalid', () => {
    const headers = signCallback(secret, body.toString(), now);
    expect(verify(headers, { secret: 'another-secret-of-enough-length' })).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
    expect(verify(headers, { body: Buffer.from(`${body.toString()} `) })).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
    expect(verify({ ...headers, [signatureHeaders.timestamp]: '1748764801' })).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
    expect(verify({ ...headers, [signatureHeaders.nonce]: 'ffffffffffffffffffffffffffffffff' })).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
  });

  it.each([
    ['5 minutes and 1 second old', -301],
    ['5 minutes and 1 second ahead', +301],
  ])('refuses a timestamp %s as stale, and accepts one at the edge of the window', (_what, offsetSeconds) => {
    const stale = signCallback(secret, body.toString(), new Date(now.getTime() + offsetSeconds * 1000));
    const edge = signCallback(secret, body.toString(), new Date(now.getTime() + Math.sign(offsetSeconds) * 300 * 1000));
    expect(verify(stale)).toEqual({ ok: false, reason: 'SIGNATURE_STALE' });
    expect(verify(edge).ok).toBe(true);
  });

  it('refuses missing and malformed headers', () => {
    const headers = signCallback(secret, body.toString(), now);
    expect(verify({ ...headers, [signatureHeaders.signature]: undefined })).toEqual({ ok: false, reason: 'SIGNATURE_MISSING' });
    expect(verify({ ...headers, [signatureHeaders.signature]: 'sha1=abc' })).toEqual({ ok: false, reason: 'SIGNATURE_MALFORMED' });
    expect(verify({ ...headers, [signatureHeaders.timestamp]: '2025-06-01T08:00:00Z' })).toEqual({ ok: false, reason: 'SIGNATURE_MALFORMED' });
    expect(verify({ ...headers, [signatureHeaders.nonce]: 'short' })).toEqual({ ok: false, reason: 'SIGNATURE_MALFORMED' });
  });

  it('accepts any of several signatures, so a partner can rotate its secret', () => {
    const headers = signCallback(secret, body.toString(), now);
    const old = computeSignature('the-old-secret-being-rotated-out', headers[signatureHeaders.timestamp]!, headers[signatureHeaders.nonce]!, body);
    expect(verify({ ...headers, [signatureHeaders.signature]: `v1=${old}, ${headers[signatureHeaders.signature]}` }).ok).toBe(true);
    expect(verify({ ...headers, [signatureHeaders.signature]: `v1=${old}` }).ok).toBe(false);
  });
});

describe('the worked example in sim/README.md', () => {
  it('signs to the value the README shows', () => {
    const body =
      '{"eventId":"evt-1","requestId":"ACT00000001","idempotencyKey":"order:ORD-1/activate/1","serviceId":"SVC00000001","status":"completed","sequence":2,"occurredAt":"2025-06-01T08:00:00.000Z"}';
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'sim', 'README.md'), 'utf8');
    const signature = computeSignature('demo-secret-0123456789', '1748764800', '3f9a1c0e5b7d4e2a8c6f1b0d9e7a5c3b', body);

    expect(readme).toContain(body);
    expect(readme).toContain(`v1=${signature}`);
  });
});
