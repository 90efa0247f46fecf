import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signPayload, verifySignature } from './signature.js';

const secret = 'a-test-secret-of-some-length';
const body = Buffer.from('{"id":"abc"}');
const now = 1_700_000_000;

const check = (over: Partial<Parameters<typeof verifySignature>[0]>) =>
  verifySignature({ secret, rawBody: body, signature: signPayload(secret, now, body), timestamp: String(now), toleranceSeconds: 300, nowSeconds: now, ...over });

describe('webhook signatures', () => {
  it('is HMAC-SHA256 over "<timestamp>.<body>" in hex', () => {
    const expected = createHmac('sha256', secret).update(`${now}.{"id":"abc"}`).digest('hex');
    expect(signPayload(secret, now, body)).toBe(`sha256=${expected}`);
  });

  it('accepts a fresh, correct signature', () => {
    expect(check({})).toMatchObject({ ok: true, timestamp: now });
    expect(check({ nowSeconds: now + 300 }).ok).toBe(true);
  });

  it('refuses a wrong secret, a changed body or a changed timestamp', () => {
    expect(check({ signature: signPayload('another-secret-value', now, body) })).toMatchObject({ ok: false, reason: expect.stringMatching(/does not match/) });
    expect(check({ rawBody: Buffer.from('{"id":"abd"}') }).ok).toBe(false);
    expect(check({ timestamp: String(now + 1), nowSeconds: now }).ok).toBe(false);
  });

  it('refuses stale or future timestamps outside the window', () => {
    expect(check({ nowSeconds: now + 301 })).toMatchObject({ ok: false, reason: expect.stringMatching(/outside the 300 s window/) });
    expect(check({ nowSeconds: now - 301 }).ok).toBe(false);
  });

  it('refuses missing or malformed headers', () => {
    expect(check({ signature: undefined }).ok).toBe(false);
    expect(check({ timestamp: undefined }).ok).toBe(false);
    expect(check({ timestamp: '17e8' }).ok).toBe(false);
    expect(check({ signature: 'sha256=abc' }).ok).toBe(false);
    expect(check({ signature: signPayload(secret, now, body).replace('sha256=', 'md5=') }).ok).toBe(false);
  });
});
