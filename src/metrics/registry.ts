// The prom-client registry and every metric the pipeline exports. Names follow Prometheus conventions
// (<namespace>_<what>_<unit>, _total counters, _seconds histograms) and labels stay bounded: queue,
// stage, state, reason class, category, provider. Never a listing id or an error message.
import client from 'prom-client';
import { defineCollectedMetrics } from './collectors.js';

export const METRIC_PREFIX = 'listing_pipeline_';

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600];

/** One registry per process, with every metric defined up front so dashboards never see gaps. */
export function createMetrics(process: string) {
  const registry = new client.Registry();
  registry.setDefaultLabels({ process });
  client.collectDefaultMetrics({ register: registry });

  const jobsCompleted = new client.Counter({
    name: `${METRIC_PREFIX}jobs_completed_total`,
    help: 'Jobs that finished successfully, per queue.',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const jobsFailed = new client.Counter({
    name: `${METRIC_PREFIX}jobs_failed_total`,
    help: 'Job attempts that failed, per queue and reason class (bad_input is permanent, transient is retried).',
    labelNames: ['queue', 'reason'] as const,
    registers: [registry],
  });
  const jobProcessing = new client.Histogram({
    name: `${METRIC_PREFIX}job_processing_seconds`,
    help: 'Time a job spent being processed by a worker, per queue (stage).',
    labelNames: ['queue'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const jobWait = new client.Histogram({
    name: `${METRIC_PREFIX}job_wait_seconds`,
    help: 'Time a job waited in its queue before a worker picked it up, per queue (infer: classify jobs only; a flow\'s infer job waits for its children, which their queues report).',
    labelNames: ['queue'] as const,
    buckets: WAIT_BUCKETS,
    registers: [registry],
  });
  const listingEndToEnd = new client.Histogram({
    name: `${METRIC_PREFIX}listing_end_to_end_seconds`,
    help: 'Time from a listing being received (enqueued) to its result being stored, by source (live: webhook/API, backfill: a run).',
    labelNames: ['source'] as const,
    // Fine steps around the 1 s objective of live listings, coarse ones for backfill queues.
    buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 5, 15, 60, 300, 900, 3600],
    registers: [registry],
  });
  const listingsProcessed = new client.Counter({
    name: `${METRIC_PREFIX}listings_processed_total`,
    help: 'Listings whose flow finished, by outcome (processed, failed).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const imagesProcessed = new client.Counter({
    name: `${METRIC_PREFIX}images_processed_total`,
    help: 'Photos cleaned or rejected, by outcome and reason class.',
    labelNames: ['outcome', 'reason'] as const,
    registers: [registry],
  });
  const imageBytes = new client.Counter({
    name: `${METRIC_PREFIX}image_bytes_total`,
    help: 'Encoded photo bytes read by the image-clean pool.',
    registers: [registry],
  });
  const imagePixels = new client.Counter({
    name: `${METRIC_PREFIX}image_pixels_total`,
    help: 'Source pixels decoded by the image-clean pool.',
    registers: [registry],
  });
  const inferenceBatchSize = new client.Histogram({
    name: `${METRIC_PREFIX}inference_batch_size`,
    help: 'Sizes of the batches the dynamic batcher formed, per model role.',
    labelNames: ['role'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  });
  const inferenceSeconds = new client.Histogram({
    name: `${METRIC_PREFIX}inference_seconds`,
    help: 'Time one batched model call took, per model role.',
    labelNames: ['role'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const executionProvider = new client.Gauge({
    name: `${METRIC_PREFIX}execution_provider_info`,
    help: 'Execution provider in use per model role (1 for the active one).',
    labelNames: ['role', 'provider'] as const,
    registers: [registry],
  });
  const predictions = new client.Counter({
    name: `${METRIC_PREFIX}predictions_total`,
    help: 'Predictions stored, per predicted category and modality used.',
    labelNames: ['category', 'modality'] as const,
    registers: [registry],
  });
  const topProbability = new client.Histogram({
    name: `${METRIC_PREFIX}prediction_top_probability`,
    help: 'Probability of the predicted class (model confidence).',
    buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99],
    registers: [registry],
  });
  const dbWrite = new client.Histogram({
    name: `${METRIC_PREFIX}db_write_seconds`,
    help: 'Postgres write latency per operation.',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const backfillListings = new client.Counter({
    name: `${METRIC_PREFIX}backfill_listings_total`,
    help: 'Catalogue listings seen by backfill runs, by outcome (enqueued, unchanged, rejected, duplicate).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });

  const runsTotal = new client.Counter({
    name: `${METRIC_PREFIX}runs_total`,
    help: 'Backfill runs started by the scheduler, by kind and outcome (finished, incomplete, failed, skipped when one was already running).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const runLastSuccess = new client.Gauge({
    name: `${METRIC_PREFIX}run_last_success_timestamp_seconds`,
    help: 'When the last run of this kind finished completely (Unix time).',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const runLastDuration = new client.Gauge({
    name: `${METRIC_PREFIX}run_last_duration_seconds`,
    help: 'How long the last scheduled run of this kind took.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });

  return {
    registry,
    jobsCompleted,
    jobsFailed,
    jobProcessing,
    jobWait,
    listingEndToEnd,
    listingsProcessed,
    imagesProcessed,
    imageBytes,
    imagePixels,
    inferenceBatchSize,
    inferenceSeconds,
    executionProvider,
    predictions,
    topProbability,
    dbWrite,
    backfillListings,
    runsTotal,
    runLastSuccess,
    runLastDuration,
    ...defineCollectedMetrics(registry, METRIC_PREFIX),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The providers a model role can run on (runtime/providers.ts ExecutionProvider). */
const PROVIDERS = ['cuda', 'cpu'] as const;

/**
 * Marks `provider` as the one a role runs on and drops the role's series for any other provider: after a
 * model reload falls back from CUDA to the CPU (or moves back), the info gauge must not show both.
 */
export function setExecutionProvider(metrics: Metrics | undefined, role: string, provider: string): void {
  if (!metrics) return;
  for (const p of PROVIDERS) if (p !== provider) metrics.executionProvider.remove({ role, provider: p });
  metrics.executionProvider.set({ role, provider }, 1);
}
