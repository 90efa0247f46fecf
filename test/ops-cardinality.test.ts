// Metrics cardinality stays bounded: 1,000 listings with distinct ids and distinct failure messages
// (a third of the photos missing, a third not images) pass through the pools, and each process's
// /metrics holds about as many series after 1,000 listings as after 100, below a fixed bound, with no
// listing id, photo id, file path or failure message anywhere in its labels.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSampleCatalogue, type SampleCatalogue } from '../src/catalogue/generate-sample.js';
import { loadCatalogue } from '../src/catalogue/load-catalogue.js';
import { PROJECT_ROOT } from '../src/config.js';
import type { PoolName } from '../src/pipeline/start-pool.js';
import { startAllPools } from '../src/pipeline/supervisor.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';
import { freePort, scrape, seriesOf, waitFor } from './support/prometheus.js';

/** Series one process may export at most: every metric with its bounded label values, plus Node's defaults. */
const SERIES_BOUND = 600;
/** Series that may legitimately appear late (e.g. a transient reason class first seen in the big run). */
const LATE_SERIES_ALLOWANCE = 40;

describe('metrics cardinality with 1,000 distinct listings and failure messages', () => {
  let t: TestPipeline;
  let dir: string;
  let sample: SampleCatalogue;
  let ids: string[] = [];
  const ports: Record<string, number> = {};
  let stopScheduler: () => Promise<void> = async () => {};

  const measure = async () => {
    const out: Record<string, { all: string[]; pipeline: string[]; text: string }> = {};
    for (const [job, port] of Object.entries(ports)) {
      const text = await scrape(port);
      out[job] = { all: seriesOf(text), pipeline: seriesOf(text, 'listing_pipeline_'), text };
    }
    return out;
  };
  const backfill = (limit?: number) =>
    t.cli<{ incomplete?: string; newWork: number }>([
      'backfill', '--products', sample.productsPath, '--images', sample.imagesPath, '--image-dir', sample.imageDir,
      ...(limit ? ['--limit', String(limit)] : []),
    ]);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ops-card-'));
    // 13 categories x 77 = 1,001 listings (one is a planted duplicate), tiny photos to keep it quick.
    sample = await generateSampleCatalogue(dir, { listingsPerCategory: 77, seed: 31, photoSize: 16 });
    const catalogue = await loadCatalogue(sample);
    ids = [...catalogue.listings.map((l) => l.id), ...catalogue.images.keys()];
    // Break two photos in three, each with its own message: a missing file names its path, a text
    // file gets its own content.
    let i = 0;
    for (const img of catalogue.images.values()) {
      if (i % 3 === 0) await unlink(img.path).catch(() => undefined);
      if (i % 3 === 1) await writeFile(img.path, `broken photo number ${i} of listing ${img.listingId}\n`);
      i++;
    }
    t = await createTestPipeline({ JOB_ATTEMPTS: '2' });
    for (const job of ['image-clean', 'text-embed', 'infer', 'scheduler']) ports[job] = await freePort();
    t.pools = startAllPools({ env: t.env, envFor: (p: PoolName) => ({ METRICS_PORT: String(ports[p]) }), stdio: 'inherit' });
    const scheduler = spawn(process.execPath, ['--import', 'tsx', 'workers/scheduler.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...t.env, METRICS_PORT: String(ports.scheduler), NIGHTLY_CRON: 'off' },
      stdio: 'inherit',
    });
    const exited = new Promise<void>((r) => scheduler.once('exit', () => r()));
    stopScheduler = async () => {
      if (scheduler.exitCode === null) scheduler.kill('SIGTERM');
      await exited;
    };
    for (const port of Object.values(ports)) await waitFor(`/metrics on ${port}`, async () => (await scrape(port)).length > 0, 60_000);
  }, 180_000);

  afterAll(async () => {
    await stopScheduler();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps each /metrics endpoint bounded and free of per-listing labels', { timeout: 600_000 }, async () => {
    const first = await backfill(100);
    expect(first.incomplete).toBeUndefined();
    const at100 = await measure();

    const all = await backfill();
    expect(all.incomplete).toBeUndefined();
    expect(all.newWork).toBeGreaterThanOrEqual(900);
    const failed = await t.db.query<{ n: number; reasons: number }>(
      `SELECT count(*) AS n, count(DISTINCT failure_reason) AS reasons FROM images WHERE status = 'failed'`,
    );
    // The run really carried many distinct failure messages.
    expect(failed.rows[0]!.reasons).toBeGreaterThan(500);
    const at1000 = await measure();

    const report: Record<string, string> = {};
    for (const job of Object.keys(ports)) {
      const a = at100[job]!;
      const b = at1000[job]!;
      report[job] = `${a.pipeline.length} -> ${b.pipeline.length} pipeline series, ${b.all.length} in all`;
      expect(b.all.length, job).toBeLessThan(SERIES_BOUND);
      expect(b.pipeline.length - a.pipeline.length, `${job}: ${report[job]}`).toBeLessThanOrEqual(LATE_SERIES_ALLOWANCE);
      // No id, path or message text in any label.
      const leaked = ids.filter((id) => b.text.includes(id));
      expect(leaked.slice(0, 5), job).toEqual([]);
      expect(b.text, job).not.toMatch(/does not exist|broken photo|\/tmp\//);
    }
    console.info(`series per endpoint after 100 -> 1,000 listings: ${JSON.stringify(report)}`);
  });
});
