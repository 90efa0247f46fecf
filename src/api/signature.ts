// Webhook signing: HMAC-SHA256 over "<timestamp>.<raw body>" with the shared secret, sent as
//   X-Signature-Timestamp: <unix seconds>
//   X-Signature: sha256=<hex digest>
// Signing the timestamp with the body lets the receiver refuse old requests (the replay window);
// comparing digests in constant time keeps the check from leaking how many leading bytes matched.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-signature';
export const TIMESTAMP_HEADER = 'x-signature-timestamp';

export function signPayload(secret: string, timestamp: number, rawBody: Buffer | string): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(rawBody);
  return `sha256=${mac.digest('hex')}`;
}

export type SignatureCheck =
  | { ok: true; timestamp: number; digest: string }
  | { ok: false; reason: string };

/** Checks a delivery's headers against its raw body; the reason says what the sender must fix. */
export function verifySignature(opts: {
  secret: string;
  rawBody: Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
  toleranceSeconds: number;
  nowSeconds: number;
}): SignatureCheck {
  if (!opts.signature || !opts.timestamp) {
    return { ok: false, reason: `The request must carry ${SIGNATURE_HEADER} and ${TIMESTAMP_HEADER} headers; sign every delivery as docs/api.md describes.` };
  }
  if (!/^\d{1,12}$/.test(opts.timestamp)) {
    return { ok: false, reason: `${TIMESTAMP_HEADER} must be the signing time in whole Unix seconds.` };
  }
  const timestamp = Number(opts.timestamp);
  if (Math.abs(opts.nowSeconds - timestamp) > opts.toleranceSeconds) {
    return {
      ok: false,
      reason: `The signature timestamp is ${opts.nowSeconds - timestamp} s away from the server's clock, outside the ${opts.toleranceSeconds} s window; sign each delivery (and each retry) when sending it, and check the sender's clock.`,
    };
  }
  const match = /^sha256=([0-9a-f]{64})$/.exec(opts.signature.trim().toLowerCase());
  if (!match) return { ok: false, reason: `${SIGNATURE_HEADER} must be "sha256=" followed by 64 hex digits.` };
  const expected = Buffer.from(signPayload(opts.secret, timestamp, opts.rawBody).slice('sha256='.length), 'hex');
  const given = Buffer.from(match[1]!, 'hex');
  if (!timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'The signature does not match the body; sign the exact bytes sent with the shared webhook secret.' };
  }
  return { ok: true, timestamp, digest: match[1]! };
}
