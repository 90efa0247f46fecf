// Composition of the API process: config -> logger, metrics, Postgres, Redis, flow producer, models,
// vector index, HTTP server; and the shutdown order (stop taking requests and finish those in flight,
// then the index, models and connections).
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { createDb } from '../db/pool.js';
import { installShutdown, type Shutdown } from '../lifecycle.js';
import { createLogger } from '../logging.js';
import { createMetrics } from '../metrics/registry.js';
import { readManifest } from '../models/load.js';
import { connectRedis } from '../queues/connection.js';
import { instrumentDb } from '../metrics/db-timing.js';
import { ListingFlowProducer } from '../queues/flows.js';
import type { ApiDeps } from './deps.js';
import { createApiMetrics } from '../metrics/api-metrics.js';
import { NO_API_MODELS, openModelSet } from './model-set.js';
import { newSearchIndex, watchApiModels } from './model-watcher.js';
import { buildServer } from './server.js';

export interface StartedApi {
  app: FastifyInstance;
  port: number;
  url: string;
  deps: ApiDeps;
  shutdown: Shutdown;
}

export async function startApi(config: Config, options: { exitOnShutdown?: boolean } = {}): Promise<StartedApi> {
  const log = createLogger(config, 'api');
  const metrics = createApiMetrics(createMetrics('api'));
  const db = instrumentDb(createDb(config, { applicationName: 'api', onIdleClientError: (err) => log.warn({ err }, 'idle Postgres client lost') }), metrics.base);
  const redis = await connectRedis(config, 'producer', log);
  const producer = new ListingFlowProducer(redis, config);
  // Same models and batchers as the pools, tuned for single synchronous requests; the classifier with
  // the encoders it was trained on (src/api/model-set.ts), as the watcher keeps them.
  const modelConfig = { ...config, INFER_MAX_DELAY_MS: config.API_BATCH_DELAY_MS };
  const { models } = await openModelSet(modelConfig, log, metrics.base, await readManifest(modelConfig), NO_API_MODELS);
  const { classifier } = models;
  if (!classifier) log.warn('no classifier is registered: /predict and /search answer 503 until one is trained (the API picks it up by itself)');
  const index = newSearchIndex({ db, log, config }, classifier);
  await index.start();
  const deps: ApiDeps = { config, log, db, redis, producer, models, index, metrics };
  const watcher = watchApiModels(deps, modelConfig);
  const app = await buildServer(deps);
  await app.listen({ host: config.API_HOST, port: config.API_PORT });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.API_PORT;
  const shutdown = installShutdown(
    log,
    config.SHUTDOWN_TIMEOUT_MS,
    [
      // app.close() stops accepting connections and waits for requests in flight.
      { name: 'http', close: () => app.close() },
      { name: 'model-watcher', close: () => watcher.close() },
      // The watcher may have swapped in newer ones: close whatever is current now.
      { name: 'search-index', close: () => deps.index.close() },
      {
        name: 'models',
        close: async () => {
          const live = deps.models;
          await Promise.all([live.textEmbedder?.close(), live.imageEmbedder?.close(), live.classifier?.close()]);
        },
      },
      { name: 'flow-producer', close: () => producer.close() },
      { name: 'postgres', close: () => db.close() },
      { name: 'redis', close: async () => void (await redis.quit()) },
    ],
    options.exitOnShutdown ?? true,
  );
  const url = `http://${config.API_HOST.includes(':') ? `[${config.API_HOST}]` : config.API_HOST}:${port}`;
  log.info({ url, classifier: classifier?.version ?? null, indexed: index.size }, 'API listening');
  return { app, port, url, deps, shutdown };
}
