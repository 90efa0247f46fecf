// Redis connections for BullMQ. Workers need maxRetriesPerRequest: null (blocking commands);
// producers fail fast instead so a CLI without Redis says so rather than hanging.
import { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { redactUrl } from '../redact-url.js';

/** The connection type that code outside src/queues holds and passes on, so only this adapter imports ioredis. */
export type { Redis };

export function createRedis(config: Pick<Config, 'REDIS_URL'>, role: 'worker' | 'producer'): Redis {
  return new Redis(config.REDIS_URL, {
    maxRetriesPerRequest: role === 'worker' ? null : 3,
    enableOfflineQueue: true,
    lazyConnect: true,
  });
}

/** Where a long-lived connection reports an outage (a process's logger). */
export interface RedisOutageLog {
  warn(obj: object, msg: string): void;
  info(msg: string): void;
}

/**
 * Reports a lost connection once per outage, and its return. Without an 'error' listener ioredis
 * prints "[ioredis] Unhandled error event" with a stack on every reconnection attempt (several a
 * second), outside the structured log.
 */
export function reportOutages(redis: Redis, log: RedisOutageLog, what = 'Redis'): void {
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log.warn({ err: err.message }, `${what} connection lost; reconnecting (work that needs it waits or fails until it is back)`);
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log.info(`${what} connection is back`);
  });
}

/** Connects, or throws an error that says exactly what to start. With `log`, outages afterwards are logged once each. */
export async function connectRedis(config: Pick<Config, 'REDIS_URL'>, role: 'worker' | 'producer', log?: RedisOutageLog): Promise<Redis> {
  const redis = createRedis(config, role);
  if (log) reportOutages(redis, log);
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
