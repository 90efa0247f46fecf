// The nightly backfill: the job scheduler is installed from configuration, a triggered run goes
// through the schedule queue to the runs table and the metrics, a second run while one is in
// progress is skipped (never started twice), and a run left 'running' by a dead scheduler is closed.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSampleCatalogue, type SampleCatalogue } from '../src/catalogue/generate-sample.js';
import { getRun, startRun } from '../src/db/runs-repo.js';
import { createLogger } from '../src/logging.js';
import { createMetrics } from '../src/metrics/registry.js';
import { runNightly, type NightlyDeps } from '../src/pipeline/nightly.js';
import { startScheduler, type StartedScheduler } from '../src/pipeline/start-scheduler.js';
import { ListingFlowProducer } from '../src/queues/flows.js';
import { QueueAdmin } from '../src/queues/queue-admin.js';
import { NightlySchedule } from '../src/queues/scheduler.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';
import { scrape } from './support/prometheus.js';

describe('nightly backfill scheduler', () => {
  let t: TestPipeline;
  let dir: string;
  let sample: SampleCatalogue;
  let redis: Redis;
  let deps: NightlyDeps;
  let fresh: SampleCatalogue;
  const metrics = createMetrics('nightly-test');
  const catalogueDir = () => path.dirname(sample.productsPath);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ops-nightly-'));
    sample = await generateSampleCatalogue(path.join(dir, 'catalogue'), { listingsPerCategory: 1, seed: 51, photoSize: 32 });
    fresh = await generateSampleCatalogue(path.join(dir, 'fresh'), { listingsPerCategory: 1, seed: 52, photoSize: 32 });
    t = await createTestPipeline({ NIGHTLY_CRON: '30 2 * * *', NIGHTLY_TZ: 'Europe/London' });
    t.startPools();
    redis = new Redis(t.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    const config = { ...t.config, QUEUE_PREFIX: t.prefix, LOG_LEVEL: 'warn' as const };
    deps = {
      db: t.db,
      producer: new ListingFlowProducer(redis, config),
      admin: new QueueAdmin(redis, config),
      log: createLogger(config, 'nightly-test'),
      metrics,
      config,
      pollMs: 200,
    };
  });
  afterAll(async () => {
    await deps?.producer.close();
    await deps?.admin.close();
    redis?.disconnect();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('never starts a second run while one is in progress', async () => {
    const data = { v: 1 as const, catalogueDir: catalogueDir(), limit: null, trigger: 'manual' as const };
    const results = await Promise.all([runNightly(deps, data), runNightly(deps, data)]);
    const outcomes = results.map((r) => r.outcome).sort();
    expect(outcomes).toEqual(['finished', 'skipped']);
    const skipped = results.find((r) => r.outcome === 'skipped')!;
    // The loser may look before the winner has written its run row, so either form is right.
    expect(skipped).toMatchObject({ reason: expect.stringMatching(/already in progress \((run \d+ started|a run that is starting)/) });

    const runs = await t.db.query<{ status: string; counts: { newWork: number; outcome: { listings: { processed: number } } } }>(
      `SELECT status, counts FROM runs WHERE kind = 'nightly'`,
    );
    expect(runs.rows).toHaveLength(1);
    expect(runs.rows[0]!.status).toBe('finished');
    expect(runs.rows[0]!.counts.newWork).toBe(sample.expected.listings);
    expect(runs.rows[0]!.counts.outcome.listings.processed).toBeGreaterThan(0);

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/listing_pipeline_runs_total\{kind="nightly",outcome="finished",process="nightly-test"\} 1/);
    expect(text).toMatch(/listing_pipeline_runs_total\{kind="nightly",outcome="skipped",process="nightly-test"\} 1/);
    expect(text).toMatch(/listing_pipeline_backfill_listings_total\{outcome="enqueued",process="nightly-test"\} [1-9]/);
    expect(text).toMatch(/listing_pipeline_run_last_success_timestamp_seconds\{kind="nightly",process="nightly-test"\} \d/);
  });

  it('closes a run a dead scheduler left running, and a rerun only does new work', async () => {
    const orphan = await startRun(t.db, { kind: 'nightly', source: 'killed scheduler' });
    const result = await runNightly(deps, { v: 1, catalogueDir: catalogueDir(), limit: null, trigger: 'schedule' });
    expect(result.outcome).toBe('finished');
    if (result.outcome !== 'finished') return;
    expect(result.summary.newWork).toBe(0);
    const closed = await getRun(t.db, orphan.id);
    expect(closed?.status).toBe('failed');
    expect(closed?.error).toMatch(/stopped before it finished/);
  });

  it('counts a nightly run that fails before it starts (catalogue missing) as failed, for the alert', async () => {
    const failedRuns = async () =>
      Number(/listing_pipeline_runs_total\{kind="nightly",outcome="failed",process="nightly-test"\} (\d+)/.exec(await metrics.registry.metrics())?.[1] ?? 0);
    const before = await failedRuns();
    await expect(runNightly(deps, { v: 1, catalogueDir: path.join(dir, 'no-such-catalogue'), limit: null, trigger: 'schedule' })).rejects.toThrow();
    expect(await failedRuns()).toBe(before + 1);
  });

  it('installs the schedule from configuration and runs a triggered job through the queue', async () => {
    let s: StartedScheduler | undefined;
    const schedule = new NightlySchedule(redis, { QUEUE_PREFIX: t.prefix });
    try {
      s = await startScheduler({ ...t.config, QUEUE_PREFIX: t.prefix, NIGHTLY_CRON: '30 2 * * *', NIGHTLY_TZ: 'Europe/London', LOG_LEVEL: 'warn' }, { exitOnShutdown: false, pollMs: 200 });
      expect(s.schedule).toMatchObject({ pattern: '30 2 * * *', tz: 'Europe/London' });
      expect(s.schedule!.next).toBeGreaterThan(Date.now());
      const shown = await t.cli<{ schedule: { pattern: string } }>(['schedule', 'show']);
      expect(shown.schedule.pattern).toBe('30 2 * * *');

      // A catalogue with new listings, so the run's own progress gauges have something to count.
      const jobId = await schedule.trigger({ catalogueDir: path.dirname(fresh.productsPath), limit: 5 });
      const done = await schedule.waitFor(jobId, 120_000, 200);
      expect(done).toMatchObject({ state: 'completed', result: { outcome: 'finished', requeuedLost: 0 } });

      const text = await scrape(s.metricsPort);
      expect(text).toMatch(/listing_pipeline_runs_total\{kind="nightly",outcome="finished",process="scheduler"\} 1/);
      expect(text).toMatch(/listing_pipeline_runs_total\{kind="nightly",outcome="failed",process="scheduler"\} 0/);
      expect(text).toMatch(/listing_pipeline_run_running\{kind="nightly",process="scheduler"\} 0/);
      expect(text).toMatch(/listing_pipeline_run_listings\{kind="nightly",status="processed",process="scheduler"\} [1-9]/);
      expect(text).toMatch(/listing_pipeline_queue_jobs\{queue="schedule",state="delayed",process="scheduler"\} 1/);
    } finally {
      s?.shutdown.trigger('test finished');
      await s?.shutdown.done;
      await schedule.close();
    }
  });

  it('refuses a malformed cron pattern with a message that says what to set', async () => {
    const schedule = new NightlySchedule(redis, { QUEUE_PREFIX: t.prefix });
    try {
      await expect(schedule.install('every night', 'UTC', { catalogueDir: null, limit: null })).rejects.toThrow(/set NIGHTLY_CRON to a cron pattern/);
    } finally {
      await schedule.close();
    }
  });
});
