// Composition of one worker-pool process: config -> logger, Postgres, Redis, metrics, models, the
// BullMQ worker; and the shutdown order (stop taking jobs and drain, then servers and connections).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.js';
import { createDb, type Db } from '../db/pool.js';
import { configureSharp } from '../images/index.js';
import { installShutdown, type Shutdown } from '../lifecycle.js';
import { createLogger } from '../logging.js';
import { createMetrics, setExecutionProvider, type Metrics } from '../metrics/registry.js';
import { startMetricsServer } from '../metrics/server.js';
import { queueStatsFrom } from '../metrics/collectors.js';
import { instrumentDb } from '../metrics/db-timing.js';
import { QueueAdmin } from '../queues/queue-admin.js';
import { connectRedis } from '../queues/connection.js';
import { createPoolWorker, type StageHandler } from '../queues/pool-worker.js';
import { POOL_QUEUES, QUEUES, type InferPayload } from '../queues/registry.js';
import { loadPoolModels, type PoolModels, type PoolName } from './load-models.js';
import { runInfer, type InferResult } from './infer-stage.js';
import { recordFinalFailure } from './final-failure.js';
import { runTextEmbed } from './text-embed-stage.js';
import { runImageClean, type ImageCleanResult } from './image-clean-stage.js';

export type { PoolName };

export interface StartedPool {
  name: PoolName;
  metricsPort: number;
  metrics: Metrics;
  shutdown: Shutdown;
}

/** The sandboxed processor file for image-clean (a forked child process per concurrent job slot). */
export function imageCleanProcessorPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const ext = path.extname(fileURLToPath(import.meta.url)); // .ts under tsx, .js when built
  return path.join(here, `image-clean-processor${ext}`);
}

function handlerFor(name: PoolName, config: Config, db: Db, models: PoolModels, metrics: Metrics): StageHandler | string {
  switch (name) {
    case 'image-clean':
      if (config.IMAGE_CLEAN_SANDBOXED) return imageCleanProcessorPath();
      // IMAGE_CLEAN_SANDBOXED=false: in this process (sharp and onnxruntime still run on native threads),
      // for debugging or where forking a child per slot costs too much memory.
      configureSharp({ cache: false });
      return (data, attempt) => runImageClean({ db, config, embedder: models.imageEmbedder }, data, attempt);
    case 'text-embed':
      // Models are read per job: the pool swaps them when the manifest changes.
      return (data) => runTextEmbed({ db, embedder: models.textEmbedder }, data);
    case 'infer':
      return (data, attempt) =>
        runInfer({
          db,
          classifier: models.classifier,
          refreshClassifier: async () => {
            await models.refresh();
            return models.classifier;
          },
          onPrediction: (p) => {
            metrics.predictions.inc({ category: p.category, modality: p.modality });
            metrics.topProbability.observe(p.topProbability);
          },
        }, data, attempt);
  }
}

const isClassifyJob = (data: unknown): boolean => Boolean((data as Partial<InferPayload> | undefined)?.modelVersion);

/** Listing outcomes and end-to-end latency (received -> final status stored), counted once per listing. */
export function countInferOutcome(metrics: Metrics, r: InferResult, data: InferPayload): void {
  // A `classify` job (modelVersion set) re-predicts a listing already counted when it was processed;
  // its receivedAt is when `classify` ran, so it is not a listing's end-to-end latency either.
  if (r.outcome === 'stale' || isClassifyJob(data)) return;
  metrics.listingsProcessed.inc({ outcome: r.outcome === 'failed' ? 'failed' : 'processed' });
  const source = data.runId === null ? 'live' : 'backfill';
  metrics.listingEndToEnd.observe({ source }, Math.max(0, Date.now() - data.receivedAt) / 1000);
}

const CONCURRENCY: Record<PoolName, keyof Config> = {
  'image-clean': 'IMAGE_CLEAN_CONCURRENCY',
  'text-embed': 'TEXT_EMBED_CONCURRENCY',
  infer: 'INFER_CONCURRENCY',
};

export async function startPool(name: PoolName, config: Config, options: { exitOnShutdown?: boolean } = {}): Promise<StartedPool> {
  const log = createLogger(config, `${name}-pool`);
  const metrics = createMetrics(`${name}-pool`);
  const db = instrumentDb(createDb(config, { applicationName: `${name}-pool`, onIdleClientError: (err) => log.warn({ err }, 'idle Postgres client lost') }), metrics);
  const redis = await connectRedis(config, 'worker', log);
  // Every pool reports the depth of every queue, so a backlog stays visible while its own pool is down.
  const depth = new QueueAdmin(redis, config, [...POOL_QUEUES, QUEUES.schedule]);
  metrics.sources.queueStats = queueStatsFrom(depth);
  const models = await loadPoolModels(name, config, metrics, log);
  const queueName = name === 'image-clean' ? QUEUES.imageClean : name === 'text-embed' ? QUEUES.textEmbed : QUEUES.infer;
  /** Final-failure writes in flight (onFinalFailure), awaited before Postgres closes. */
  const recording = new Set<Promise<unknown>>();
  const worker = createPoolWorker({
    queue: queueName,
    concurrency: config[CONCURRENCY[name]] as number,
    handler: handlerFor(name, config, db, models, metrics),
    connection: redis,
    config,
    metrics,
    log,
    onCompleted: (result, data) => {
      if (name === 'infer') return countInferOutcome(metrics, result as InferResult, data as InferPayload);
      if (name !== 'image-clean') return;
      const r = result as ImageCleanResult;
      // A photo of content that moved on was skipped: its listing's newer jobs count it.
      if (r.outcome === 'stale') return;
      metrics.imagesProcessed.inc({ outcome: 'cleaned', reason: 'none' });
      metrics.imageBytes.inc(r.bytes);
      metrics.imagePixels.inc(r.pixels);
      // The encoder ran in a sandboxed child (one photo per call there); its metrics arrive in the result.
      // In process, the encoder recorded them itself.
      if (r.encoder && config.IMAGE_CLEAN_SANDBOXED) {
        setExecutionProvider(metrics, 'image-encoder', r.encoder.provider);
        metrics.inferenceBatchSize.observe({ role: 'image-encoder' }, 1);
        metrics.inferenceSeconds.observe({ role: 'image-encoder' }, r.encoder.seconds);
      }
    },
    onFinalFailure: (reason, data, message) => {
      if (name === 'image-clean') metrics.imagesProcessed.inc({ outcome: 'failed', reason });
      if (name === 'infer' && !isClassifyJob(data)) metrics.listingsProcessed.inc({ outcome: 'failed' });
      // The handler may not have run (a job that stalled too often) or not to its end (a crashed
      // sandboxed child): record the failure here, or the photo/listing would stay pending for good.
      const write = recordFinalFailure(db, queueName, data, reason, message)
        .catch((err: unknown) => log.error({ err, queue: queueName }, 'could not record a job that failed for good'))
        .finally(() => recording.delete(write));
      recording.add(write);
    },
    // An infer job of a listing's flow is its parent: before pickup it waited for its children. Only a
    // `classify` job (no children) waited in the queue proper.
    ...(name === 'infer' ? { queueWaitOf: isClassifyJob } : {}),
  });
  const server = await startMetricsServer(metrics.registry, config.METRICS_HOST, config.METRICS_PORT);
  const shutdown = installShutdown(
    log,
    config.SHUTDOWN_TIMEOUT_MS,
    [
      // worker.close() stops fetching and waits for the jobs in flight to finish; then the failures
      // they ended with are recorded before Postgres closes.
      {
        name: 'worker',
        close: async () => {
          await worker.close();
          await Promise.allSettled([...recording]);
        },
      },
      { name: 'models', close: () => models.close() },
      { name: 'metrics-server', close: () => server.close() },
      { name: 'queue-depth', close: () => depth.close() },
      { name: 'postgres', close: () => db.close() },
      { name: 'redis', close: async () => void (await redis.quit()) },
    ],
    options.exitOnShutdown ?? true,
  );
  // Started by the supervisor (supervisor.ts): no terminal signal reaches this process group, so if the
  // supervisor dies without forwarding one (SIGKILL), its IPC channel closing is the signal to stop.
  // `request`, not `trigger`: a supervisor that forwarded a signal and then went away must not turn the
  // drain it asked for into an immediate exit.
  if (process.connected) process.once('disconnect', () => shutdown.request('supervisor gone'));
  // run() rejects only when the worker cannot go on (e.g. its Redis connection is closed under it): stop
  // the pool like a signal would, rather than exit on an unhandled rejection with jobs in flight.
  worker.run().catch((err: unknown) => {
    log.error({ err }, `${name} worker stopped`);
    shutdown.request('worker stopped');
  });
  log.info({ concurrency: config[CONCURRENCY[name]], metricsPort: server.port, models: models.describe() }, `${name} pool started`);
  return { name, metricsPort: server.port, metrics, shutdown };
}
