// The metrics wiring against real Postgres and Redis: Postgres writes are timed per operation through
// the instrumented Db, pool usage is reported, queue depth comes from BullMQ, and the run-progress
// gauges read the latest run of each kind, and the count of listings pending for too long.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markProcessed, upsertListings } from '../src/db/listings-repo.js';
import { finishRun, startRun } from '../src/db/runs-repo.js';
import { queueStatsFrom } from '../src/metrics/collectors.js';
import { instrumentDb } from '../src/metrics/db-timing.js';
import { createMetrics } from '../src/metrics/registry.js';
import { startMetricsServer, type MetricsServer } from '../src/metrics/server.js';
import { QueueAdmin } from '../src/queues/queue-admin.js';
import { NightlySchedule } from '../src/queues/scheduler.js';
import { createTestSchema, type TestSchema } from './support/db.js';
import { scrape } from './support/prometheus.js';

describe('metrics wiring on real Postgres and Redis', () => {
  let t: TestSchema;
  let redis: Redis;
  let admin: QueueAdmin;
  let server: MetricsServer;
  const prefix = `m${randomBytes(5).toString('hex')}`;
  const metrics = createMetrics('ops-test');

  beforeAll(async () => {
    t = await createTestSchema({ prefix: 'metrics' });
    redis = new Redis(t.config.REDIS_URL, { maxRetriesPerRequest: null });
    admin = new QueueAdmin(redis, { QUEUE_PREFIX: prefix }, ['image-clean', 'schedule']);
    metrics.sources.queueStats = queueStatsFrom(admin);
    server = await startMetricsServer(metrics.registry, '127.0.0.1', 0);
  });
  afterAll(async () => {
    await server?.close();
    await admin?.obliterate();
    await admin?.close();
    redis?.disconnect();
    await t?.drop();
  });

  it('times writes per operation and reports pool usage and run progress', async () => {
    const db = instrumentDb(t.db, metrics);
    metrics.sources.runs = db;
    const run = await startRun(db, { kind: 'backfill', source: 'test' });
    await db.withTransaction((tx) => tx.query(`UPDATE runs SET counts = '{}'::jsonb WHERE id = $1`, [run.id]));
    await db.query('SELECT count(*) FROM runs');
    const during = await scrape(server.port);
    // Label order is prom-client's business; match the operation label wherever it stands.
    expect(during).toMatch(/^listing_pipeline_db_write_seconds_count\{[^}]*operation="insert_runs"[^}]*\} 1$/m);
    expect(during).toMatch(/^listing_pipeline_db_write_seconds_count\{[^}]*operation="update_runs"[^}]*\} 1$/m);
    expect(during).not.toMatch(/operation="select/);
    expect(during).toMatch(/listing_pipeline_db_pool_max_connections\{process="ops-test"\} 4/);
    expect(during).toContain('listing_pipeline_run_running{kind="backfill",process="ops-test"} 1');
    expect(during).toContain('listing_pipeline_run_running{kind="nightly",process="ops-test"} 0');
    await finishRun(db, run.id, {});
    expect(await scrape(server.port)).toContain('listing_pipeline_run_running{kind="backfill",process="ops-test"} 0');
  });

  it('counts listings pending for over 15 minutes, by the database clock', async () => {
    metrics.sources.runs = t.db;
    const listing = (id: string) => ({
      id, nameRaw: id, name: id, descriptionRaw: id, modelText: id, price: 1, priceRaw: '£1', location: 'Leeds',
      categoryPath: null, label: null, createTime: null, imageCount: 0, contentHash: 'h', source: 'webhook',
    });
    await upsertListings(t.db, [listing('old-1'), listing('old-2'), listing('new-1')], null);
    expect(await scrape(server.port)).toContain('listing_pipeline_listings_pending_stale{process="ops-test"} 0');
    await t.db.query("UPDATE listings SET updated_at = now() - interval '20 minutes' WHERE id LIKE 'old-%'");
    expect(await scrape(server.port)).toContain('listing_pipeline_listings_pending_stale{process="ops-test"} 2');
    await markProcessed(t.db, 'old-1', 'h');
    expect(await scrape(server.port)).toContain('listing_pipeline_listings_pending_stale{process="ops-test"} 1');
  });

  it('reports queue depth per state and the paused flag from BullMQ', async () => {
    const schedule = new NightlySchedule(redis, { QUEUE_PREFIX: prefix });
    await schedule.trigger({ catalogueDir: null, limit: null });
    await schedule.install('0 2 * * *', 'UTC', { catalogueDir: null, limit: null });
    await admin.pause('image-clean');
    const text = await scrape(server.port);
    expect(text).toContain('listing_pipeline_queue_jobs{queue="schedule",state="waiting",process="ops-test"} 1');
    expect(text).toContain('listing_pipeline_queue_jobs{queue="schedule",state="delayed",process="ops-test"} 1');
    expect(text).toContain('listing_pipeline_queue_paused{queue="image-clean",process="ops-test"} 1');
    expect(text).toContain('listing_pipeline_queue_paused{queue="schedule",process="ops-test"} 0');
    await schedule.close();
  });
});
