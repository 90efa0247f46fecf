// The queue admin commands against real Redis and real pools: counts per state, pause (a paused
// queue keeps its jobs while the other pools work, and its pool reports queue_paused 1), resume,
// and retry of failed jobs.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSampleCatalogue, type SampleCatalogue } from '../src/catalogue/generate-sample.js';
import { loadCatalogue } from '../src/catalogue/load-catalogue.js';
import { PROJECT_ROOT } from '../src/config.js';
import type { PoolName } from '../src/pipeline/start-pool.js';
import { startAllPools } from '../src/pipeline/supervisor.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';
import { freePort, scrape, waitFor } from './support/prometheus.js';

type Counts = Record<string, Record<string, number>>;

describe('queues CLI: counts, pause, resume, retry', () => {
  let t: TestPipeline;
  let dir: string;
  let sample: SampleCatalogue;
  let photos = 0;
  let listings = 0;
  const ports: Record<string, number> = {};
  const counts = () => t.cli<Counts>(['queues', 'counts']);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ops-queues-'));
    sample = await generateSampleCatalogue(dir, { listingsPerCategory: 1, seed: 41, photoSize: 16 });
    const catalogue = await loadCatalogue(sample);
    listings = catalogue.listings.length;
    // Every photo goes missing, so each image-clean job fails for good (and can be retried later).
    for (const img of catalogue.images.values()) await unlink(img.path).catch(() => undefined);
    t = await createTestPipeline();
    for (const p of ['image-clean', 'text-embed', 'infer']) ports[p] = await freePort();
  });
  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows counts, keeps a paused queue waiting, resumes it and retries its failed jobs', { timeout: 240_000 }, async () => {
    await t.cli(['backfill', '--products', sample.productsPath, '--images', sample.imagesPath, '--image-dir', sample.imageDir, '--no-wait']);
    const before = await counts();
    photos = before['image-clean']!.waiting ?? 0;
    expect(photos).toBeGreaterThan(0);
    expect(before['text-embed']!.waiting).toBe(listings);
    expect(before.infer!['waiting-children']).toBe(listings);

    expect(await t.cli(['queues', 'pause', 'image-clean'])).toEqual({ queue: 'image-clean', action: 'pause' });
    t.pools = startAllPools({ env: t.env, envFor: (p: PoolName) => ({ METRICS_PORT: String(ports[p]) }), stdio: 'inherit' });
    // Text is embedded meanwhile; the paused queue keeps every photo job.
    await waitFor('text-embed to finish', async () => (await counts())['text-embed']!.completed === listings, 120_000, 500);
    const paused = await counts();
    expect(paused['image-clean']!.waiting).toBe(photos);
    expect(paused['image-clean']!.failed).toBe(0);
    const exposition = await scrape(ports['image-clean']!);
    expect(exposition).toMatch(/listing_pipeline_queue_paused\{queue="image-clean",process="image-clean-pool"\} 1/);
    expect(exposition).toMatch(new RegExp(`listing_pipeline_queue_jobs\\{queue="image-clean",state="waiting",process="image-clean-pool"\\} ${photos}`));

    expect(await t.cli(['queues', 'resume', 'image-clean'])).toEqual({ queue: 'image-clean', action: 'resume' });
    await waitFor('every photo job to fail and every listing to finish', async () => {
      const c = await counts();
      return c['image-clean']!.failed === photos && c.infer!.completed === listings;
    }, 120_000, 500);
    await t.stopPools();

    expect(await t.cli(['queues', 'retry', 'image-clean'])).toEqual({ queue: 'image-clean', retried: photos });
    const after = await counts();
    expect(after['image-clean']!.failed).toBe(0);
    expect(after['image-clean']!.waiting).toBe(photos);
  });

  it('names the known queues when given an unknown one', async () => {
    const run = promisify(execFile);
    const err = await run(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/cli/main.ts'), 'queues', 'pause', 'nope'], {
      cwd: PROJECT_ROOT,
      env: t.env,
    }).then(() => null, (e: Error & { code?: number; stderr?: string }) => e);
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/Unknown queue "nope"; known queues: image-clean, text-embed, infer/);
  });
});
