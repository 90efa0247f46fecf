// Test harness for the HTTP API: the real server (buildServer) on 127.0.0.1 with a free port, against
// the test pipeline's Postgres schema and queue prefix, with whatever models the test supplies.
import { pino } from 'pino';
import { createApiMetrics } from '../../src/metrics/api-metrics.js';
import type { ApiDeps } from '../../src/api/deps.js';
import type { ApiModels } from '../../src/api/predict-service.js';
import { buildServer } from '../../src/api/server.js';
import { signPayload } from '../../src/api/signature.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createDb } from '../../src/db/pool.js';
import { CATEGORY_NAMES } from '../../src/domain/category.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { connectRedis } from '../../src/queues/connection.js';
import { ListingFlowProducer } from '../../src/queues/flows.js';
import { SearchIndex } from '../../src/search/search-index.js';

export const TEST_WEBHOOK_SECRET = 'test-webhook-secret-0123456789';

export interface TestApi {
  url: string;
  config: Config;
  deps: ApiDeps;
  /** Signs and posts a webhook delivery; `timestamp` defaults to now. */
  deliver(body: unknown, opts?: { timestamp?: number; secret?: string; raw?: string }): Promise<Response>;
  close(): Promise<void>;
}

export const NO_MODELS: ApiModels = { textEmbedder: null, imageEmbedder: null, classifier: null };

export async function startTestApi(env: Record<string, string>, models: ApiModels = NO_MODELS): Promise<TestApi> {
  const config = loadConfig({
    ...env,
    API_HOST: '127.0.0.1',
    API_PORT: '0',
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    SEARCH_INDEX_RESYNC_MS: '600000',
    SEARCH_INDEX_POLL_MS: '100',
    DB_POOL_MAX: '4',
    ...Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('API_') || k.startsWith('WEBHOOK_'))),
  });
  const log = pino({ level: env.LOG_LEVEL ?? 'warn' });
  const db = createDb(config, { applicationName: 'test-api' });
  const redis = await connectRedis(config, 'producer', log);
  const producer = new ListingFlowProducer(redis, config);
  const index = new SearchIndex({
    db,
    log,
    modelVersion: models.classifier?.version ?? null,
    classes: models.classifier?.classes ?? CATEGORY_NAMES,
    categoryWeight: config.SEARCH_CATEGORY_WEIGHT,
    annThreshold: config.SEARCH_ANN_THRESHOLD,
    annEf: config.SEARCH_ANN_EF,
    pollMs: 100,
    resyncMs: 600_000,
  });
  await index.start();
  const deps: ApiDeps = { config, log, db, redis, producer, models, index, metrics: createApiMetrics(createMetrics('api-test')) };
  const app = await buildServer(deps);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url,
    config,
    deps,
    deliver(body, opts = {}) {
      const raw = opts.raw ?? JSON.stringify(body);
      const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
      return fetch(`${url}/webhooks/listing-created`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-signature-timestamp': String(timestamp),
          'x-signature': signPayload(opts.secret ?? TEST_WEBHOOK_SECRET, timestamp, raw),
        },
        body: raw,
      });
    },
    async close() {
      await app.close();
      await index.close();
      await producer.close();
      await db.close();
      await redis.quit();
    },
  };
}
