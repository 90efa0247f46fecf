// The webhook's replay ledger against the real Redis: which attempt may run, which copy is a replay,
// and that an attempt never removes or extends another attempt's mark.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { randomSchemaName } from '../../test/support/db.js';
import { deletePrefixKeys } from '../../test/support/redis-keys.js';
import { DeliveryLedger } from './delivery-ledger.js';

const prefix = randomSchemaName('ledger');
let redis: Redis;
beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await deletePrefixKeys(prefix);
  redis.disconnect();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DeliveryLedger', () => {
  it('lets one attempt run, tells copies it is in progress, then that it was taken; a failed attempt frees the request', async () => {
    const ledger = new DeliveryLedger(redis, prefix);
    const first = await ledger.claim('a', 300);
    expect(first.state).toBe('first');
    expect((await ledger.claim('a', 300)).state).toBe('in_progress');
    await ledger.complete('a', 300);
    expect((await ledger.claim('a', 300)).state).toBe('done');
    expect(await redis.ttl(`${prefix}:webhook:seen:a`)).toBeGreaterThan(290);

    const failing = await ledger.claim('b', 300);
    if (failing.state !== 'first') throw new Error('expected to claim b');
    await ledger.release('b', failing.token);
    expect((await ledger.claim('b', 300)).state).toBe('first');
  });

  it('takes a mark written by an API version before the pending state as a delivery already taken', async () => {
    const ledger = new DeliveryLedger(redis, prefix);
    await redis.set(`${prefix}:webhook:seen:legacy`, '1', 'EX', 60);
    expect((await ledger.claim('legacy', 300)).state).toBe('done');
  });

  it('never removes the mark of a later attempt when its own has expired', async () => {
    const ledger = new DeliveryLedger(redis, prefix, { pendingSeconds: 1 });
    const slow = await ledger.claim('c', 300);
    if (slow.state !== 'first') throw new Error('expected to claim c');
    await sleep(1300); // the slow attempt's mark expires (it was not kept alive)
    const next = await ledger.claim('c', 300);
    expect(next.state).toBe('first');
    await ledger.release('c', slow.token); // the slow attempt fails late
    expect((await ledger.claim('c', 300)).state).toBe('in_progress');
  });

  it('keeps a running attempt\'s mark alive for as long as it runs, and lets it expire once it stops', async () => {
    const ledger = new DeliveryLedger(redis, prefix, { pendingSeconds: 2 });
    const running = await ledger.claim('d', 300);
    if (running.state !== 'first') throw new Error('expected to claim d');
    const errors: unknown[] = [];
    const stop = ledger.keepAlive('d', running.token, (err) => errors.push(err));
    await sleep(4500); // more than twice the pending period
    expect((await ledger.claim('d', 300)).state).toBe('in_progress');
    stop();
    await sleep(2600);
    expect((await ledger.claim('d', 300)).state).toBe('first');
    expect(errors).toEqual([]);
  });

  it('keeps a pending mark no longer than the signature is valid', async () => {
    const ledger = new DeliveryLedger(redis, prefix);
    expect((await ledger.claim('e', 5)).state).toBe('first');
    expect(await redis.ttl(`${prefix}:webhook:seen:e`)).toBeLessThanOrEqual(5);
  });
});
