// The model path end to end on the generated sample: backfill through the pools, fit the offline
// encoders, train the classifier, classify on the infer pool, evaluate. Then the BERT path: the mini
// BERT registered as the text encoder is picked up by the running text-embed pool.
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSampleCatalogue } from '../src/catalogue/generate-sample.js';
import { loadConfig } from '../src/config.js';
import { bertManifestEntry } from '../src/models/bert/index.js';
import { registerModel } from '../src/models/registry/index.js';
import { startApi, type StartedApi } from '../src/api/start-api.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';

const miniBert = path.join(loadConfig().SHARED_DIR, 'models', 'marketplace-mini-bert');

describe('offline models through the pipeline', () => {
  let t: TestPipeline;
  let dir: string;
  let modelsDir: string;
  let sample: Awaited<ReturnType<typeof generateSampleCatalogue>>;
  let api: StartedApi | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'models-pipe-'));
    modelsDir = path.join(dir, 'models');
    sample = await generateSampleCatalogue(path.join(dir, 'catalogue'), { listingsPerCategory: 8, seed: 5 });
    t = await createTestPipeline({ MODELS_DIR: modelsDir, JOB_BACKOFF_MS: '500' });
    t.startPools();
  });
  afterAll(async () => {
    if (api) {
      api.shutdown.trigger('test finished');
      await api.shutdown.done;
    }
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const catalogueArgs = () => ['--products', sample.productsPath, '--images', sample.imagesPath, '--image-dir', sample.imageDir];

  it('fits, trains, classifies every processed listing and evaluates', async () => {
    await t.cli(['backfill', ...catalogueArgs()]);
    const fit = await t.cli<{ textVersion: string; imageVersion: string; embeddedPhotos: number }>(['setup', '--no-holdout']);
    expect(fit.embeddedPhotos).toBeGreaterThan(50);
    // An API started before any classifier exists picks the trained one up by itself.
    api = await startApi(loadConfig({ ...t.env, API_PORT: '0', API_MODEL_RELOAD_MS: '300', WEBHOOK_SECRET: 'models-pipeline-secret-123' }), { exitOnShutdown: false });
    expect((await fetch(`${api.url}/readyz`)).status).toBe(503);
    const train = await t.cli<{ version: string; validation: { accuracy: number } }>(['train', '--no-holdout', '--epochs', '15']);
    // Under a queue mark of 10 jobs: pages of 5 listings, each waiting for room (paging must lose none).
    const classify = await t.cli<{ modelVersion: string; enqueued: number; predictions: number; incomplete?: string }>(['classify'], { BACKFILL_MAX_QUEUED_JOBS: '10' });
    expect(classify.modelVersion).toBe(train.version);
    expect(classify.incomplete).toBeUndefined();
    let ready: { checks?: { models?: { classifier?: string } } } = {};
    for (let i = 0; i < 100 && ready.checks?.models?.classifier !== train.version; i++) {
      await new Promise((r) => setTimeout(r, 200));
      ready = (await (await fetch(`${api.url}/readyz`)).json()) as typeof ready;
    }
    expect(ready.checks?.models?.classifier).toBe(train.version);
    const predicted = await fetch(`${api.url}/search?q=table%20chair&k=3`);
    expect(predicted.status).toBe(200);
    // The API reports its Postgres pool as the pools do (the dashboard's pool-usage panel showed it with a limit of 0).
    const apiMetrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(apiMetrics).toMatch(/listing_pipeline_db_pool_max_connections\{process="api"\} [1-9]/);

    const { rows } = await t.db.query<{ id: string; probabilities: Float32Array; embedding: Float32Array; modality: string }>(
      `SELECT l.id, p.probabilities, p.embedding, p.modality FROM listings l
       LEFT JOIN predictions p ON p.listing_id = l.id AND p.model_version = $1 WHERE l.status = 'processed'`,
      [train.version],
    );
    expect(rows.length).toBeGreaterThan(90);
    expect(classify.enqueued).toBe(rows.length);
    expect(classify.predictions).toBe(rows.length); // counted when classify returned: it waited for all
    for (const r of rows) {
      expect(r.probabilities?.length).toBe(13);
      expect([...r.probabilities].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(r.embedding.length).toBeGreaterThan(0);
    }
    // The generated sample has a listing without photos: it is classified from its text and says so.
    expect(rows.some((r) => r.modality === 'text')).toBe(true);

    // Evaluate on a copy of the photo folder with one good photo deleted. The sample's own bad photos
    // (a zero-byte file, a text file) and the deleted one are counted by cause; the rest is scored.
    const evalImages = path.join(dir, 'eval-images');
    await cp(sample.imageDir, evalImages, { recursive: true });
    const { quirks } = sample;
    const bad = new Set([quirks.zeroBytePhotoId, quirks.textPhotoId, quirks.orphanImageId].map((id) => `${id}.jpg`));
    await rm(path.join(evalImages, (await readdir(evalImages)).sort().find((f) => !bad.has(f))!));
    type Evaluation = {
      text: { accuracy: number; count: number }; imagePerPhoto: { count: number };
      combined: { accuracy: number; count: number; perClass: { name: string; support: number; recall: number }[]; confusion: number[][] };
      listings: number;
      input: {
        productRecords: number; rejectedRows: number; duplicates: number; unlabelled: number; outsideSplit: number; notInClassTable: number; nothingToScore: number;
        photos: { listed: number; scored: number; missing: number; unreadable: Record<string, number> };
      };
    };
    // Plus a labelled listing with nothing to score: no model text and no photo.
    const evalProducts = path.join(dir, 'eval-products.csv');
    await writeFile(evalProducts, `${(await readFile(sample.productsPath, 'utf8')).trimEnd()}\n9999,nothing-to-score-1,"X",Home & Garden / Other,"","£1.00","Bath"\n`);
    const evaluation = await t.cli<Evaluation>(
      ['evaluate', '--products', evalProducts, '--images', sample.imagesPath, '--image-dir', evalImages, '--split', 'all', '--predictions', path.join(dir, 'predictions.jsonl')],
    );
    // Every record is accounted for once: scored, or counted with why not.
    const input = evaluation.input;
    expect(input.nothingToScore).toBe(1);
    expect(evaluation.combined.count + input.notInClassTable + input.nothingToScore).toBe(evaluation.listings);
    expect(evaluation.listings + input.rejectedRows + input.duplicates + input.unlabelled + input.outsideSplit).toBe(input.productRecords);
    // The per-listing file agrees with the summary: one line per scored listing, the same hits.
    const lines = (await readFile(path.join(dir, 'predictions.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { truth: string; combined: string; photos: string[] });
    expect(lines).toHaveLength(evaluation.combined.count);
    expect(lines.filter((l) => l.truth === l.combined).length).toBe(Math.round(evaluation.combined.accuracy * evaluation.combined.count));
    expect(lines.reduce((a, l) => a + l.photos.length, 0)).toBe(evaluation.imagePerPhoto.count);
    expect(evaluation.combined.perClass.reduce((a, c) => a + c.support, 0)).toBe(evaluation.combined.count);
    expect(evaluation.combined.confusion.flat().reduce((a, b) => a + b, 0)).toBe(evaluation.combined.count);
    expect(evaluation.combined.count).toBeGreaterThan(90);
    expect(evaluation.imagePerPhoto.count).toBeGreaterThan(90);
    expect(evaluation.input.rejectedRows).toBe(sample.expected.productRejects);
    expect(evaluation.input.photos.missing).toBe(1);
    expect(evaluation.input.photos.unreadable).toEqual({ empty: 1, not_an_image: 1 });
    expect(evaluation.input.photos.scored).toBe(evaluation.imagePerPhoto.count);
    expect(evaluation.input.photos.listed).toBe(evaluation.input.photos.scored + 3);
    // The generated catalogue is learnable by design; far above the 1/13 of chance.
    expect(evaluation.combined.accuracy).toBeGreaterThan(0.5);
  }, 400_000);

  it.skipIf(!existsSync(miniBert))('runs the BERT path when the mini BERT (from ../shared) is the current text encoder', async () => {
    const folder = path.join(modelsDir, 'pulled', 'marketplace-mini-bert');
    await cp(miniBert, folder, { recursive: true });
    const entry = await bertManifestEntry(modelsDir, folder, 'marketplace-mini-bert', { maxTokens: 20 });
    await registerModel(modelsDir, entry, { makeCurrent: true });
    // An edited listing goes through the flow again; the text-embed pool must embed it with BERT.
    const { rows } = await t.db.query<{ id: string }>(`SELECT id FROM listings WHERE status = 'processed' ORDER BY id LIMIT 1`);
    await new Promise((r) => setTimeout(r, 6000)); // the pools re-read the manifest every 5 s
    await t.db.query(`UPDATE listings SET content_hash = 'ffffffff00000000', status = 'pending' WHERE id = $1`, [rows[0]!.id]);
    const { enqueueListingsAgain } = await import('./support/requeue.js');
    await enqueueListingsAgain(t, [rows[0]!.id]);
    const end = Date.now() + 60_000;
    let vec: Float32Array | undefined;
    while (Date.now() < end && !vec) {
      const r = await t.db.query<{ vector: Float32Array }>('SELECT vector FROM text_embeddings WHERE listing_id = $1 AND model_version = $2', [rows[0]!.id, entry.version]);
      vec = r.rows[0]?.vector;
      if (!vec) await new Promise((r) => setTimeout(r, 300));
    }
    expect(vec?.length).toBe(192);
  }, 120_000);
});
