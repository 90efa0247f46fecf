// Gauges read at scrape time rather than updated by events: queue depth from BullMQ, Postgres pool
// usage, which execution provider each model session runs on, the progress of the latest run of each
// kind, and listings pending for too long. A process attaches only the sources it has; a gauge with no source exports nothing.
// A failing source (Redis or Postgres briefly away) must not fail the whole scrape, so its error is
// counted and its gauges are left out of that scrape rather than reported with stale values.
import client from 'prom-client';
import type { Queryable } from '../db/pool.js';
import { countStalePending, STALE_PENDING_MS } from '../db/pending-listings-repo.js';
import { runProgress } from '../db/run-progress-repo.js';
import { latestRun } from '../db/runs-repo.js';
// providers.ts has no imports of its own: metrics stay loadable without onnxruntime.
import { providerInfo, type ProviderRecord } from '../models/runtime/providers.js';
import type { QueueAdmin } from '../queues/queue-admin.js';

/** Job counts per queue and state, and whether each queue is paused. */
export interface QueueStats {
  counts: Record<string, Record<string, number>>;
  paused: Record<string, boolean>;
}

/** The statistics pg.Pool exposes (structural, so this module needs no pg import). */
export interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options: { max?: number };
}

/** The run kinds whose progress is exported; a fixed list keeps the `kind` label bounded. */
export const RUN_KINDS = ['backfill', 'nightly'] as const;

export interface CollectedSources {
  queueStats?: () => Promise<QueueStats>;
  dbPool?: PoolStats;
  providers?: () => ProviderRecord[];
  runs?: Queryable;
}

export function defineCollectedMetrics(registry: client.Registry, prefix: string) {
  // Every process reports the model sessions it opened; other sources are attached explicitly.
  const sources: CollectedSources = { providers: providerInfo };
  const collectErrors = new client.Counter({
    name: `${prefix}metrics_collect_errors_total`,
    help: 'Scrape-time collections that failed (their gauges were left out of that scrape; counted from the next scrape on), per source.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  // Both sources start at 0 so rate() and the dashboard see them before the first error.
  for (const source of ['queue', 'runs']) collectErrors.inc({ source }, 0);
  const guarded = async <T>(source: string, fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch {
      collectErrors.inc({ source });
      return null;
    }
  };

  // prom-client collects all metrics of a scrape concurrently, so gauges fed by one read share it.
  const readQueues = shared(async () => (sources.queueStats ? guarded('queue', sources.queueStats) : null));
  const queueJobs = new client.Gauge({
    name: `${prefix}queue_jobs`,
    help: 'Jobs in each BullMQ queue by state (every process reports every pool queue: use max by (queue, state)).',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const stats = await readQueues();
      for (const [queue, states] of Object.entries(stats?.counts ?? {})) {
        for (const [state, n] of Object.entries(states)) this.set({ queue, state }, n);
      }
    },
  });
  const queuePaused = new client.Gauge({
    name: `${prefix}queue_paused`,
    help: '1 when an operator paused the queue (workers take no jobs from it).',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const stats = await readQueues();
      for (const [queue, paused] of Object.entries(stats?.paused ?? {})) this.set({ queue }, paused ? 1 : 0);
    },
  });

  const dbPoolConnections = new client.Gauge({
    name: `${prefix}db_pool_connections`,
    help: 'Postgres connections of this process by state (in_use, idle).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const p = sources.dbPool;
      if (!p) return;
      this.set({ state: 'in_use' }, p.totalCount - p.idleCount);
      this.set({ state: 'idle' }, p.idleCount);
    },
  });
  const dbPoolMax = new client.Gauge({
    name: `${prefix}db_pool_max_connections`,
    help: 'Size limit of this process\'s Postgres pool (DB_POOL_MAX).',
    registers: [registry],
    collect() {
      this.reset();
      if (sources.dbPool) this.set(sources.dbPool.options.max ?? 10);
    },
  });
  const dbPoolWaiting = new client.Gauge({
    name: `${prefix}db_pool_waiting_requests`,
    help: 'Queries waiting for a free Postgres connection in this process (above 0 for long: raise DB_POOL_MAX).',
    registers: [registry],
    collect() {
      this.reset();
      if (sources.dbPool) this.set(sources.dbPool.waitingCount);
    },
  });

  const modelSessions = new client.Gauge({
    name: `${prefix}model_sessions`,
    help: 'Open ONNX sessions per model and execution provider; fallback="true" when a preferred provider (CUDA) was unavailable.',
    labelNames: ['model', 'provider', 'fallback'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of sources.providers?.() ?? []) {
        this.set({ model: r.model, provider: r.provider, fallback: String(r.fallbackReason !== null) }, r.sessions);
      }
    },
  });

  const readRuns = shared(async () => {
    const db = sources.runs;
    if (!db) return null;
    return guarded('runs', async () => {
      const out = [];
      for (const kind of RUN_KINDS) {
        const run = await latestRun(db, kind);
        out.push({ kind, running: run?.status === 'running', progress: run ? await runProgress(db, run.id) : null });
      }
      return out;
    });
  });
  const runListings = new client.Gauge({
    name: `${prefix}run_listings`,
    help: 'Listings of the latest run of each kind by status (pending, processed, failed, skipped).',
    labelNames: ['kind', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await readRuns()) ?? []) {
        for (const [status, n] of Object.entries(r.progress?.listings ?? {})) this.set({ kind: r.kind, status }, n);
      }
    },
  });
  const runImages = new client.Gauge({
    name: `${prefix}run_images`,
    help: 'Photos of the latest run of each kind by status (pending, cleaned, failed, skipped).',
    labelNames: ['kind', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await readRuns()) ?? []) {
        for (const [status, n] of Object.entries(r.progress?.images ?? {})) this.set({ kind: r.kind, status }, n);
      }
    },
  });
  const pendingStale = new client.Gauge({
    name: `${prefix}listings_pending_stale`,
    help: 'Listings pending for over 15 minutes: a backlog, or, while the queues are empty, flows Redis lost (`queues requeue-lost`).',
    registers: [registry],
    async collect() {
      this.reset();
      const db = sources.runs;
      if (!db) return;
      const n = await guarded('runs', () => countStalePending(db, STALE_PENDING_MS));
      if (n !== null) this.set(n);
    },
  });
  const runRunning = new client.Gauge({
    name: `${prefix}run_running`,
    help: '1 while the latest run of this kind is still running.',
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await readRuns()) ?? []) this.set({ kind: r.kind }, r.running ? 1 : 0);
    },
  });

  return {
    sources,
    collectErrors,
    queueJobs,
    queuePaused,
    dbPoolConnections,
    dbPoolMax,
    dbPoolWaiting,
    modelSessions,
    runListings,
    runImages,
    runRunning,
    pendingStale,
  };
}

/** Runs fn once for all callers that ask while a call is in flight (one read per scrape). */
function shared<T>(fn: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | null = null;
  return () => {
    inFlight ??= fn().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}

/** Queue depth of every queue the admin knows, for `metrics.sources.queueStats`. */
export function queueStatsFrom(admin: QueueAdmin): () => Promise<QueueStats> {
  return async () => {
    const counts = await admin.counts();
    const paused: Record<string, boolean> = {};
    for (const [name, q] of admin.queues) paused[name] = await q.isPaused();
    return { counts, paused };
  };
}
