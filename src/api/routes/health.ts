// Liveness, readiness and metrics. /readyz answers 503 until Redis and Postgres answer, the models are
// loaded and the vector index has synced, so a load balancer only sends traffic to a working process.
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { missingModels } from '../predict-service.js';

interface Check {
  ok: boolean;
  detail?: string;
}

async function timed(what: string, fn: () => Promise<unknown>, timeoutMs = 1000): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs))),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * /readyz is on the public port, and a dependency's error names its host, port and how to start it: the
 * response says only which check failed, and the reason goes to the log, once each time a check starts
 * failing (load balancers probe every few seconds).
 */
function redactedForPublic(log: ApiDeps['log']): (name: string, check: Check) => Check {
  const failing = new Set<string>();
  return (name, check) => {
    if (check.ok) {
      failing.delete(name);
      return check;
    }
    if (!failing.has(name)) {
      failing.add(name);
      log.warn({ check: name, detail: check.detail }, `readiness check ${name} is failing: ${check.detail ?? 'no detail'}`);
    }
    return { ...check, detail: `${name} is not available; the API's log says why.` };
  };
}

export async function healthRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const publicCheck = redactedForPublic(deps.log);
  const hidden = { hide: true } as const;
  app.get('/healthz', { schema: { summary: 'Liveness: the process answers.', tags: ['operations'] } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { summary: 'Readiness: Redis, Postgres, models and the vector index.', tags: ['operations'] } }, async (_req, reply) => {
    const [redis, postgres] = await Promise.all([
      timed('Redis', () => deps.redis.ping()),
      timed('Postgres', () => deps.db.query('SELECT 1')),
    ]);
    // One read of the live set, which the model watcher may replace while Redis and Postgres answer.
    const live = deps.models;
    const missing = missingModels(live, { text: true, image: true });
    const models: Check & Record<string, unknown> = missing
      ? { ok: false, detail: missing }
      : { ok: true, classifier: live.classifier!.version, text: live.textEmbedder!.version, image: live.imageEmbedder!.version };
    const s = deps.index.status();
    // The index's last error is a Postgres error when its sync query failed.
    const sync = publicCheck('the vector index', s.lastError === null ? { ok: true } : { ok: false, detail: s.lastError });
    const index: Check & Record<string, unknown> = {
      ok: s.ready && sync.ok,
      size: s.size,
      mode: s.mode,
      modelVersion: s.modelVersion,
      ...(!sync.ok ? { detail: sync.detail } : !s.ready ? { detail: 'still loading' } : {}),
    };
    const checks = {
      redis: publicCheck('Redis', redis),
      postgres: publicCheck('Postgres', postgres),
      models,
      index,
    };
    const ok = Object.values(checks).every((x) => x.ok);
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', { schema: { ...hidden } }, async (_req, reply) => {
    const s = deps.index.status();
    deps.metrics.indexSize.set(s.size);
    if (s.syncedAt !== null) deps.metrics.indexAge.set((Date.now() - s.syncedAt) / 1000);
    const registry = deps.metrics.base.registry;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
