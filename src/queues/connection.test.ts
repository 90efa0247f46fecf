// Against the real Redis through a loopback TCP proxy the test closes and reopens.
import { describe, expect, it } from 'vitest';
import { loopbackProxy, redisPort } from '../../test/support/loopback-proxy.js';
import { connectRedis } from './connection.js';

const until = async (what: string, check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

describe('connectRedis with a logger', () => {
  it('logs a lost connection once per outage, however many reconnection attempts fail, and its return', async () => {
    const first = await loopbackProxy(redisPort());
    const lines: string[] = [];
    const log = { warn: (_o: object, msg: string) => void lines.push(`warn: ${msg}`), info: (msg: string) => void lines.push(`info: ${msg}`) };
    const redis = await connectRedis({ REDIS_URL: `redis://127.0.0.1:${first.port}` }, 'worker', log);
    let errors = 0;
    redis.on('error', () => errors++);
    try {
      await first.stop();
      await until('several failed reconnection attempts', () => errors >= 3);
      expect(lines.filter((l) => l.startsWith('warn:'))).toHaveLength(1);
      expect(lines[0]).toMatch(/Redis connection lost/);

      const again = await loopbackProxy(redisPort(), first.port);
      await until('the connection to come back', () => redis.status === 'ready');
      expect(lines.at(-1)).toBe('info: Redis connection is back');
      expect(await redis.ping()).toBe('PONG');
      await again.stop();
    } finally {
      redis.disconnect();
    }
  }, 30_000);
});
