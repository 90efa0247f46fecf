// Redis connections for BullMQ. Workers need maxRetriesPerRequest: null (blocking commands);
// producers fail fast instead so a CLI without Redis says so rather than hanging.
import { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { redactUrl } from '../redact-url.js';

export function createRedis(config: Pick<Config, 'REDIS_URL'>, role: 'worker' | 'producer'): Redis {
  return new Redis(config.REDIS_URL, {
    maxRetriesPerRequest: role === 'worker' ? null : 3,
    enableOfflineQueue: true,
    lazyConnect: true,
  });
}

/** Connects, or throws an error that says exactly what to start. */
export async function connectRedis(config: Pick<Config, 'REDIS_URL'>, role: 'worker' | 'producer'): Promise<Redis> {
  const redis = createRedis(config, role);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new Error(
      `Redis is not reachable at ${redactUrl(config.REDIS_URL, 'REDIS_URL')} (${(err as Error).message}). Start it with ` +
        '`redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no` ' +
        '(or `docker compose up -d redis`), or set REDIS_URL to a running server.',
      { cause: err },
    );
  }
  await warnOnEvictionPolicy(redis);
  return redis;
}

/** BullMQ loses jobs silently if Redis may evict keys (DESIGN.md section 5). */
async function warnOnEvictionPolicy(redis: Redis): Promise<void> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    if (reply[1] && reply[1] !== 'noeviction') {
      throw new Error(
        `Redis runs with maxmemory-policy ${reply[1]}; BullMQ needs noeviction or queued jobs can vanish. ` +
          'Run `redis-cli config set maxmemory-policy noeviction` (and set it in redis.conf).',
      );
    }
  } catch (err) {
    // Managed Redis services may forbid CONFIG; only a wrong policy is fatal.
    if ((err as Error).message.includes('maxmemory-policy')) throw err;
  }
}
