// Remembers each signed webhook request (by its signature digest) in Redis, so that an exact replay is
// refused, in two states:
//   pending: an attempt with these bytes is running now. Another copy must not be told "already
//            received": the running attempt may still fail (Postgres down, a 503), and a sender that took
//            the 409 as delivered would then lose the listing. It is told to retry shortly instead.
//   done:    the attempt was taken (202/200); a copy is a replay until the timestamp leaves the window.
// A failed attempt removes its mark, so the same signed request can be sent again. Each attempt's pending
// mark carries its own token, so an attempt only ever removes or extends its own mark. The pending mark
// lives PENDING_SECONDS and the running attempt extends it (keepAlive) for as long as it runs, however
// long Postgres makes it wait; an API process killed mid-request stops extending it, so the sender's
// retries are taken again within PENDING_SECONDS rather than refused for the whole tolerance window.
import { randomUUID } from 'node:crypto';
import type { Redis } from '../queues/connection.js';

export type Claim = { state: 'first'; token: string } | { state: 'in_progress' } | { state: 'done' };

/** How long a pending mark outlives the last sign of life of its attempt. */
export const PENDING_SECONDS = 60;

const PENDING_PREFIX = 'pending:';
const DONE = 'done';

// Only this attempt's own mark (its token) is removed or extended: once it has expired and another
// attempt claimed the request (or completed it), that attempt's mark stays as it is.
const RELEASE_IF_MINE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const EXTEND_IF_MINE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end return 0`;

export class DeliveryLedger {
  private readonly pendingSeconds: number;

  /** `pendingSeconds` is PENDING_SECONDS except in tests, which cannot wait a minute for a mark to expire. */
  constructor(private readonly redis: Redis, private readonly keyPrefix: string, opts: { pendingSeconds?: number } = {}) {
    this.pendingSeconds = opts.pendingSeconds ?? PENDING_SECONDS;
  }

  private key(digest: string): string {
    return `${this.keyPrefix}:webhook:seen:${digest}`;
  }

  /** Claims the request for this attempt, or says why it cannot be: another attempt is running, or it was taken. */
  async claim(digest: string, windowSeconds: number): Promise<Claim> {
    const key = this.key(digest);
    const token = `${PENDING_PREFIX}${randomUUID()}`;
    // Two rounds: the mark can expire or be released between the SET and the GET.
    for (let round = 0; round < 2; round++) {
      const set = await this.redis.set(key, token, 'EX', Math.min(windowSeconds, this.pendingSeconds), 'NX');
      if (set !== null) return { state: 'first', token };
      const state = await this.redis.get(key);
      // A re-sent SET (ioredis replays unanswered commands after a reconnect) finds this attempt's own mark.
      if (state === token) return { state: 'first', token };
      if (state === null) continue;
      // Anything but a pending mark is "taken": "done", and the "1" that API versions before the
      // pending state wrote, so that a rolling deploy does not refuse those deliveries' copies as running.
      return state.startsWith(PENDING_PREFIX) ? { state: 'in_progress' } : { state: 'done' };
    }
    return { state: 'in_progress' };
  }

  /**
   * Extends this attempt's pending mark three times per pending period until the returned stop() is called. A failed
   * extension is only logged by the caller's handler: the mark then expires and a copy may run alongside,
   * which the store's per-listing lock makes harmless (same content, one flow).
   */
  keepAlive(digest: string, token: string, onError: (err: unknown) => void): () => void {
    const timer = setInterval(() => {
      this.redis.eval(EXTEND_IF_MINE, 1, this.key(digest), token, this.pendingSeconds).catch(onError);
    }, (this.pendingSeconds * 1000) / 3);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The attempt was taken: copies are replays until the signature's timestamp leaves the window. */
  async complete(digest: string, windowSeconds: number): Promise<void> {
    await this.redis.set(this.key(digest), DONE, 'EX', Math.max(1, windowSeconds));
  }

  /** The attempt failed: the same signed request may be sent again. */
  async release(digest: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE_IF_MINE, 1, this.key(digest), token);
  }
}
