// A command waiting on the pools says so when no pool runs: QueueAdmin.queuesWithoutWorkers and the
// watch the backfill and classify waits use, against the real Redis with a real BullMQ worker.
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { noWorkerWatch } from '../src/queues/no-worker-warning.js';
import { QueueAdmin } from '../src/queues/queue-admin.js';
import { deletePrefixKeys } from './support/redis-keys.js';

const prefix = `t${randomBytes(5).toString('hex')}`;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });

afterAll(async () => {
  redis.disconnect();
  await deletePrefixKeys(prefix);
});

describe('queues without workers', () => {
  it('names a queue with ready jobs and no worker, warns once after a quiet spell, and not once a worker is connected', async () => {
    const admin = new QueueAdmin(redis, { QUEUE_PREFIX: prefix }, ['infer', 'text-embed']);
    const queue = new Queue('infer', { connection: redis, prefix });
    let worker: Worker | undefined;
    try {
      expect(await admin.queuesWithoutWorkers()).toEqual([]); // nothing queued: nothing to say
      await queue.add('infer', { n: 1 });
      expect(await admin.queuesWithoutWorkers()).toEqual(['infer']);

      const warnings: string[] = [];
      const watch = noWorkerWatch(admin, (m) => warnings.push(m));
      for (let i = 0; i < 19; i++) await watch(0);
      expect(warnings).toEqual([]); // not before a quiet spell
      for (let i = 0; i < 30; i++) await watch(0);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/No worker is connected to the infer queue\(s\).*npm run workers/);

      // A connected worker (holding its job, so the next one stays waiting): nothing to say.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      worker = new Worker('infer', () => held, { connection: redis.duplicate(), prefix, concurrency: 1 });
      await queue.add('infer', { n: 2 });
      for (let i = 0; i < 100 && (await queue.getActiveCount()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await queue.getWaitingCount()).toBe(1);
      expect(await admin.queuesWithoutWorkers()).toEqual([]);
      release();
    } finally {
      await worker?.close();
      await queue.close();
      await admin.close();
    }
  }, 30_000);
});
