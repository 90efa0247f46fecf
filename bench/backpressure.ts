// What the backfill's queue high-water mark (BACKFILL_MAX_QUEUED_JOBS) costs and saves, side by side in
// one run: the same catalogue backfilled twice into fresh schemas and queue prefixes with the three pools
// running, once with the mark off (0: the whole catalogue enqueued at once) and once at BENCH_MARK
// (default 5,000 jobs). Prints the peak of unfinished jobs and of Redis used_memory above the starting
// level (sampled every 100 ms), the elapsed time, and their ratios.
//   npm run bench:backpressure        BENCH_LIMIT=2000 BENCH_MARK=2000 npm run bench:backpressure
// Redis is shared: run it with nothing else using this Redis, or the memory figures include that too.
import os from 'node:os';
import { Redis } from 'ioredis';
import { QueueAdmin } from '../src/queues/queue-admin.js';
import { createTestPipeline } from '../test/support/pipeline.js';
import { requireSample } from './sample.js';

const fbm = requireSample('bench:backpressure');
const limit = process.env.BENCH_LIMIT ? ['--limit', process.env.BENCH_LIMIT] : [];
const mark = Number(process.env.BENCH_MARK ?? 5000);

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? Number.NaN);

interface Measured {
  maxQueuedJobs: number;
  newWork: number;
  elapsedSeconds: number;
  peakUnfinishedJobs: number;
  peakRedisMiB: number;
}

async function measure(maxQueuedJobs: number): Promise<Measured> {
  const t = await createTestPipeline({ LOG_LEVEL: 'error', BACKFILL_MAX_QUEUED_JOBS: String(maxQueuedJobs) });
  const admin = new QueueAdmin(redis, t.config);
  try {
    t.startPools();
    const base = await usedMemory();
    let peakJobs = 0;
    let peakBytes = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakJobs = Math.max(peakJobs, await admin.outstanding());
        peakBytes = Math.max(peakBytes, (await usedMemory()) - base);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const summary = await t.cli<{ newWork: number; elapsedSeconds: number }>(['backfill', '--catalogue', fbm, ...limit]);
    sampling = false;
    await sampler;
    return {
      maxQueuedJobs,
      newWork: summary.newWork,
      elapsedSeconds: Number(summary.elapsedSeconds.toFixed(1)),
      peakUnfinishedJobs: peakJobs,
      peakRedisMiB: Number((peakBytes / 2 ** 20).toFixed(1)),
    };
  } finally {
    await admin.close();
    await t.close();
  }
}

try {
  const off = await measure(0);
  const on = await measure(mark);
  console.log(JSON.stringify({
    machine: `${os.cpus().length} cores`,
    off,
    on,
    ratios: {
      peakUnfinishedJobs: Number((off.peakUnfinishedJobs / on.peakUnfinishedJobs).toFixed(2)),
      peakRedisMemory: Number((off.peakRedisMiB / on.peakRedisMiB).toFixed(2)),
      elapsed: Number((on.elapsedSeconds / off.elapsedSeconds).toFixed(2)),
    },
  }, null, 2));
} finally {
  redis.disconnect();
}
