// Remembers each signed webhook request (by its signature digest) in Redis, so that an exact replay is
// refused, in two states:
//   pending: an attempt with these bytes is running now. Another copy must not be told "already
//            received": the running attempt may still fail (Postgres down, a 503), and a sender that took
//            the 409 as delivered would then lose the listing. It is told to retry shortly instead.
//   done:    the attempt was taken (202/200); a copy is a replay until the timestamp leaves the window.
// A failed attempt removes its mark, so the same signed request can be sent again. The pending mark
// expires on its own after PENDING_SECONDS, so an API process killed mid-request does not block the
// sender's retries for the whole tolerance window.
import type { Redis } from '../queues/connection.js';

export type Claim = 'first' | 'in_progress' | 'done';

/** Longer than any webhook request runs (the store waits at most DB_STATEMENT_TIMEOUT_MS per statement). */
export const PENDING_SECONDS = 120;

const PENDING = 'pending';
const DONE = 'done';

// Deletes the mark only while it is still this attempt's pending mark: once it has expired and another
// attempt claimed it (or completed), that attempt's mark stays.
const RELEASE_IF_PENDING = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export class DeliveryLedger {
  constructor(private readonly redis: Redis, private readonly keyPrefix: string) {}

  private key(digest: string): string {
    return `${this.keyPrefix}:webhook:seen:${digest}`;
  }

  /** Claims the request for this attempt, or says why it cannot be: another attempt is running, or it was taken. */
  async claim(digest: string, windowSeconds: number): Promise<Claim> {
    const key = this.key(digest);
    // Two rounds: the mark can expire or be released between the SET and the GET.
    for (let round = 0; round < 2; round++) {
      const set = await this.redis.set(key, PENDING, 'EX', Math.min(windowSeconds, PENDING_SECONDS), 'NX');
      if (set !== null) return 'first';
      const state = await this.redis.get(key);
      if (state === DONE) return 'done';
      if (state === PENDING) return 'in_progress';
    }
    return 'in_progress';
  }

  /** The attempt was taken: copies are replays until the signature's timestamp leaves the window. */
  async complete(digest: string, windowSeconds: number): Promise<void> {
    await this.redis.set(this.key(digest), DONE, 'EX', Math.max(1, windowSeconds));
  }

  /** The attempt failed: the same signed request may be sent again. */
  async release(digest: string): Promise<void> {
    await this.redis.eval(RELEASE_IF_PENDING, 1, this.key(digest), PENDING);
  }
}
