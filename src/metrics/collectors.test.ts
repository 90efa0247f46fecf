// Scrape-time gauges: one read per scrape shared by the gauges it feeds, a failing source counted
// instead of failing the scrape, and write statements named by verb and table.
import { describe, expect, it } from 'vitest';
import { writeOperation } from './db-timing.js';
import { createMetrics } from './registry.js';

describe('writeOperation', () => {
  it('names writes by verb and table and ignores reads and comments', () => {
    expect(writeOperation('INSERT INTO listings (id) VALUES ($1)')).toBe('insert_listings');
    expect(writeOperation('WITH input AS (SELECT 1) UPDATE images SET status = $1')).toBe('update_images');
    expect(writeOperation('delete from row_rejects where run_id = $1')).toBe('delete_row_rejects');
    expect(writeOperation('SELECT * FROM runs -- UPDATE cannot happen here')).toBeNull();
    expect(writeOperation('SELECT pg_try_advisory_xact_lock(1)')).toBeNull();
  });
});

describe('scrape-time gauges', () => {
  it('reads the queue source once per scrape for both queue gauges', async () => {
    const m = createMetrics('unit');
    let reads = 0;
    m.sources.queueStats = async () => {
      reads++;
      return { counts: { infer: { waiting: 3, active: 1 } }, paused: { infer: true } };
    };
    const text = await m.registry.metrics();
    expect(reads).toBe(1);
    expect(text).toContain('listing_pipeline_queue_jobs{queue="infer",state="waiting",process="unit"} 3');
    expect(text).toContain('listing_pipeline_queue_paused{queue="infer",process="unit"} 1');
  });

  it('counts a failing source and still answers the scrape', async () => {
    const m = createMetrics('unit');
    m.sources.queueStats = async () => {
      throw new Error('Redis is away');
    };
    // A scrape reads every metric at once, so a failure shows in the error counter of the next one.
    await m.registry.metrics();
    const text = await m.registry.metrics();
    expect(text).toContain('listing_pipeline_metrics_collect_errors_total{source="queue",process="unit"} 1');
    expect(text).not.toMatch(/^listing_pipeline_queue_jobs\{/m);
  });

  it('reports Postgres pool usage and model sessions', async () => {
    const m = createMetrics('unit');
    m.sources.dbPool = { totalCount: 5, idleCount: 2, waitingCount: 1, options: { max: 8 } };
    m.sources.providers = () => [{ model: 'clf-1', provider: 'cpu', requested: ['cuda', 'cpu'], fallbackReason: 'no CUDA', sessions: 2 }];
    const text = await m.registry.metrics();
    expect(text).toContain('listing_pipeline_db_pool_connections{state="in_use",process="unit"} 3');
    expect(text).toContain('listing_pipeline_db_pool_max_connections{process="unit"} 8');
    expect(text).toContain('listing_pipeline_db_pool_waiting_requests{process="unit"} 1');
    expect(text).toContain('listing_pipeline_model_sessions{model="clf-1",provider="cpu",fallback="true",process="unit"} 2');
  });

  it('exports nothing for sources a process does not have', async () => {
    const text = await createMetrics('unit').registry.metrics();
    for (const name of ['queue_jobs', 'db_pool_connections', 'run_listings', 'model_sessions']) {
      expect(text).not.toMatch(new RegExp(`^listing_pipeline_${name}\\{`, 'm'));
    }
  });
});
