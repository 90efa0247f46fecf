// The API's edges that need no models: long ids, slow bodies, and a Redis outage seen through a
// loopback proxy that the test cuts. The edges of /predict and /search, and the shutdown drain of a
// request in flight, run on real trained models in test/api-models.test.ts.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildServer } from '../src/api/server.js';
import { createDb } from '../src/db/pool.js';
import { startTestApi, type TestApi } from './support/api.js';
import { loopbackProxy, redisPort } from './support/loopback-proxy.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';

let t: TestPipeline;
let api: TestApi;

beforeAll(async () => {
  t = await createTestPipeline({ API_RATE_LIMIT_PER_MINUTE: '0' });
  api = await startTestApi(t.env);
});

afterAll(async () => {
  await api?.close();
  await t?.close();
});

describe('listing ids up to 128 characters', () => {
  it('serves the status URL of an accepted listing with a 101-128 character id', async () => {
    const id = `a${'b'.repeat(127)}`;
    const res = await api.deliver({ id, name: 'Oak dining table', description: 'Seats six', location: 'Leeds' });
    expect(res.status).toBe(202);
    const { statusUrl } = (await res.json()) as { statusUrl: string };
    const status = await fetch(`${api.url}${statusUrl}`);
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ id, status: 'pending' });
    // The same id on the other id routes reaches the route (the index holds no prediction for it).
    expect((await fetch(`${api.url}${statusUrl}/similar`)).status).toBe(422);
    expect((await fetch(`${api.url}/listings/x${'b'.repeat(110)}`)).status).toBe(404);
    expect(((await (await fetch(`${api.url}/listings/x${'b'.repeat(110)}`)).json()) as { message: string }).message).toMatch(/is not known/);
    // Longer than any id: the schema's 400, not "there is no such route".
    const tooLong = await fetch(`${api.url}/listings/a${'b'.repeat(200)}`);
    expect(tooLong.status).toBe(400);
  });
});

describe('slow request bodies', () => {
  it('answers 408 and closes a connection whose body never arrives', async () => {
    const app = await buildServer(api.deps, { requestTimeoutMs: 1000 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (app.server.address() as AddressInfo).port;
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      const closed = new Promise<boolean>((resolve) => {
        socket.on('close', () => resolve(true));
        setTimeout(() => resolve(false), 6000);
      });
      // Headers promise 100 bytes; one arrives.
      socket.write('POST /predict/text HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
      expect(await closed).toBe(true);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      socket.destroy();
    } finally {
      await app.close();
    }
  });
});

describe('readiness on the public port', () => {
  it('says which dependency is down without its address or start commands, and logs why once per outage', async () => {
    const pgUrl = new URL(api.config.DATABASE_URL);
    const proxy = await loopbackProxy(Number(pgUrl.port || 5432));
    pgUrl.hostname = '127.0.0.1';
    pgUrl.port = String(proxy.port);
    const db = createDb({ ...api.config, DATABASE_URL: pgUrl.toString() });
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const app = await buildServer({ ...api.deps, db, log });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const ready = async () => {
      const res = await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/readyz`);
      return { status: res.status, text: await res.text() };
    };
    try {
      expect(JSON.parse((await ready()).text)).toMatchObject({ checks: { postgres: { ok: true } } });
      await proxy.stop();
      for (let i = 0; i < 3; i++) {
        const down = await ready();
        expect(down.status).toBe(503);
        expect(JSON.parse(down.text)).toMatchObject({ checks: { postgres: { ok: false, detail: "Postgres is not available; the API's log says why." } } });
        expect(down.text).not.toContain(String(proxy.port));
        expect(down.text).not.toMatch(/pg_ctlcluster|docker compose|127\.0\.0\.1/);
      }
      // The operator's log has the reason (with the address), once for the three probes.
      const logged = lines.filter((l) => l.includes('readiness check Postgres is failing'));
      expect(logged).toHaveLength(1);
      expect(logged[0]).toContain(`127.0.0.1:${proxy.port}`);
    } finally {
      await app.close();
      await db.close();
    }
  });
});

describe('a Redis outage', () => {
  it('leaves the rate-limited routes answering, and answers webhook deliveries 503 (retry) rather than 500', async () => {
    const proxy = await loopbackProxy(redisPort(t.env.REDIS_URL));
    const limited = await startTestApi({ ...t.env, REDIS_URL: `redis://127.0.0.1:${proxy.port}`, API_RATE_LIMIT_PER_MINUTE: '100' });
    // A rate-limited route that needs Postgres only: an unknown listing's similar listings (404).
    const similar = () => fetch(`${limited.url}/listings/no-such-listing/similar`);
    try {
      const up = await similar();
      expect(up.status).toBe(404);
      expect(up.headers.get('x-ratelimit-limit')).toBe('100');

      await proxy.stop();
      // The limiter cannot count: the request passes (it waited for Redis and answered 500 before).
      const down = await similar();
      expect(down.status).toBe(404);

      const hook = await limited.deliver({ id: 'redis-down-1', name: 'Oak dining table' });
      expect(hook.status).toBe(503);
      expect(await hook.json()).toMatchObject({ statusCode: 503, message: expect.stringMatching(/Redis.*retry/) });

      const ready = await fetch(`${limited.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ checks: { redis: { ok: false, detail: "Redis is not available; the API's log says why." } } });
    } finally {
      // Its Redis connection's QUIT fails through the cut proxy (after the client's retries); nothing else is left open.
      await limited.close().catch(() => undefined);
      limited.deps.redis.disconnect(); // stops its reconnection attempts
    }
  }, 60_000);
});
