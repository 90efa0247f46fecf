// Against the real Redis through a loopback TCP proxy the test closes and reopens.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { connectRedis } from './connection.js';

const REDIS_PORT = Number(new URL(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379').port || 6379);

/** A TCP proxy on 127.0.0.1 to the real Redis; stop() closes it and every connection through it. */
function proxy(port = 0): Promise<{ port: number; stop: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(REDIS_PORT, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        stop: () => new Promise<void>((done) => {
          server.close(() => done());
          for (const s of sockets) s.destroy();
        }),
      }),
    ),
  );
}

const until = async (what: string, check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

describe('connectRedis with a logger', () => {
  it('logs a lost connection once per outage, however many reconnection attempts fail, and its return', async () => {
    const first = await proxy();
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

      const again = await proxy(first.port);
      await until('the connection to come back', () => redis.status === 'ready');
      expect(lines.at(-1)).toBe('info: Redis connection is back');
      expect(await redis.ping()).toBe('PONG');
      await again.stop();
    } finally {
      redis.disconnect();
    }
  }, 30_000);
});
