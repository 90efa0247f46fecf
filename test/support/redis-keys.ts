// Removes every Redis key under a test's queue prefix. Obliterating the queues leaves some behind:
// `<prefix>:<queue>:meta` written again by a worker or QueueEvents that closes after the obliterate, and
// the nightly `schedule` queue, which the pool queues' admin does not cover.
import { Redis } from 'ioredis';

export async function deletePrefixKeys(prefix: string, url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'): Promise<number> {
  if (!/^[A-Za-z0-9_-]{6,}$/.test(prefix)) throw new Error(`Refusing to delete keys under the prefix "${prefix}": test prefixes are random and at least 6 characters.`);
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  let deleted = 0;
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}
