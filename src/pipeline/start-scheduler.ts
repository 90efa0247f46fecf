// Composition of the scheduler process: installs the nightly job scheduler (NIGHTLY_CRON), runs the
// schedule queue's worker (one nightly backfill at a time), and serves /metrics with the queue depths
// and the progress of the latest run of each kind. One replica is enough; more are harmless.
import type { Config } from '../config.js';
import { createDb } from '../db/pool.js';
import { installShutdown, type Shutdown } from '../lifecycle.js';
import { createLogger } from '../logging.js';
import { queueStatsFrom } from '../metrics/collectors.js';
import { instrumentDb } from '../metrics/db-timing.js';
import { createMetrics, type Metrics } from '../metrics/registry.js';
import { startMetricsServer } from '../metrics/server.js';
import { connectRedis } from '../queues/connection.js';
import { ListingFlowProducer } from '../queues/flows.js';
import { QueueAdmin } from '../queues/queue-admin.js';
import { POOL_QUEUES, QUEUES } from '../queues/registry.js';
import { createScheduleWorker, NightlySchedule, type ScheduleInfo } from '../queues/scheduler.js';
import { NIGHTLY_KIND, runNightly } from './nightly.js';

export interface StartedScheduler {
  metricsPort: number;
  metrics: Metrics;
  schedule: ScheduleInfo | null;
  shutdown: Shutdown;
}

export async function startScheduler(config: Config, options: { exitOnShutdown?: boolean; pollMs?: number } = {}): Promise<StartedScheduler> {
  const log = createLogger(config, 'scheduler');
  const metrics = createMetrics('scheduler');
  const db = instrumentDb(createDb(config, { applicationName: 'scheduler', onIdleClientError: (err) => log.warn({ err }, 'idle Postgres client lost') }), metrics);
  const redis = await connectRedis(config, 'worker', log);
  const producer = new ListingFlowProducer(redis, config);
  // The backfill waits for the pool queues to drain; the schedule queue (holding this very job) is
  // watched separately for metrics only.
  const admin = new QueueAdmin(redis, config);
  const depth = new QueueAdmin(redis, config, [...POOL_QUEUES, QUEUES.schedule]);
  metrics.sources.queueStats = queueStatsFrom(depth);
  metrics.sources.runs = db;
  // Every outcome starts at 0 so increase() sees the first failure (a series born at 1 shows no increase).
  for (const outcome of ['finished', 'incomplete', 'failed', 'skipped']) metrics.runsTotal.inc({ kind: NIGHTLY_KIND, outcome }, 0);

  const schedule = new NightlySchedule(redis, config);
  const defaults = { catalogueDir: config.NIGHTLY_CATALOGUE_DIR ?? null, limit: null };
  let info: ScheduleInfo | null = null;
  if (config.NIGHTLY_CRON.trim().toLowerCase() === 'off') {
    await schedule.remove();
  } else {
    info = await schedule.install(config.NIGHTLY_CRON, config.NIGHTLY_TZ, defaults);
  }

  const worker = createScheduleWorker({
    connection: redis,
    config,
    log,
    handler: (data, jobId) => {
      log.info({ jobId, trigger: data.trigger }, 'nightly backfill starting');
      return runNightly({ db, producer, admin, log, metrics, config, pollMs: options.pollMs }, data);
    },
  });
  const server = await startMetricsServer(metrics.registry, config.METRICS_HOST, config.METRICS_PORT);
  const shutdown = installShutdown(
    log,
    config.SHUTDOWN_TIMEOUT_MS,
    [
      // A nightly run in flight is cut short at the deadline; BullMQ's stalled-job recovery re-runs it,
      // and the rerun only does the work that is still missing.
      { name: 'worker', close: () => worker.close() },
      { name: 'metrics-server', close: () => server.close() },
      { name: 'queues', close: async () => void (await Promise.all([schedule.close(), producer.close(), admin.close(), depth.close()])) },
      { name: 'postgres', close: () => db.close() },
      { name: 'redis', close: async () => void (await redis.quit()) },
    ],
    options.exitOnShutdown ?? true,
  );
  void worker.run();
  log.info({ schedule: info, metricsPort: server.port }, info ? 'scheduler started' : 'scheduler started without a nightly schedule (NIGHTLY_CRON=off)');
  return { metricsPort: server.port, metrics, schedule: info, shutdown };
}
