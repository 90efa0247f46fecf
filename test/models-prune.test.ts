// `models prune` end to end through the CLI process, on the real Postgres: old versions lose their
// manifest entries, files, embeddings (out-of-fold ones too) and predictions; the current and kept
// versions lose nothing; a classifier whose predictions are some listings' only ones stays until
// `classify` has given them a current prediction.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertImageEmbeddings, upsertTextEmbeddings } from '../src/db/embeddings-repo.js';
import { upsertImages } from '../src/db/images-repo.js';
import { deleteModelVersionRows } from '../src/db/model-rows-repo.js';
import { markFailed, markProcessedMany, upsertListings } from '../src/db/listings-repo.js';
import { upsertPredictions } from '../src/db/predictions-repo.js';
import type { Manifest, ModelRole } from '../src/models/manifest-types.js';
import { loadManifest, writeManifest } from '../src/models/registry/manifest.js';
import { modelEntry } from './support/model-entries.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';

const entry = (role: ModelRole, version: string, generation: number) =>
  modelEntry(role, version, generation, role === 'classifier' ? { text: `text@${generation}`, image: `image@${generation}` } : undefined);

interface PruneJson {
  dryRun: boolean;
  removed: { role: string; version: string }[];
  kept: { version: string; why: string }[];
  rows: { textEmbeddings: number; imageEmbeddings: number; predictions: number };
  files: string[];
}

describe('models prune', () => {
  let t: TestPipeline;
  let modelsDir: string;
  const rowsByVersion = async () =>
    (await t.db.query<{ v: string; n: number }>(
      `SELECT v, count(*)::int AS n FROM (
         SELECT model_version AS v FROM text_embeddings UNION ALL SELECT model_version FROM image_embeddings
         UNION ALL SELECT model_version FROM predictions) x GROUP BY v ORDER BY v`,
    )).rows.map((r) => `${r.v}:${r.n}`).sort();

  beforeAll(async () => {
    modelsDir = await mkdtemp(path.join(os.tmpdir(), 'prune-models-'));
    t = await createTestPipeline({ MODELS_DIR: modelsDir });
    // Three generations of setup + train; the third is current.
    const models = [1, 2, 3].flatMap((g) => [entry('text-encoder', `text@${g}`, g), entry('image-encoder', `image@${g}`, g), entry('classifier', `clf@${g}`, g)]);
    const manifest: Manifest = { schemaVersion: 1, current: { 'text-encoder': 'text@3', 'image-encoder': 'image@3', classifier: 'clf@3' }, models };
    await mkdir(path.join(modelsDir, 'generated'), { recursive: true });
    for (const m of models) await writeFile(path.join(modelsDir, m.files[0]!.path), 'x');
    await writeManifest(modelsDir, manifest);

    const listing = (id: string) => ({
      id, nameRaw: id, name: id, descriptionRaw: id, modelText: `oak table ${id}`, price: 1, priceRaw: '£1', location: 'Leeds',
      categoryPath: 'Home & Garden', label: 'Home & Garden', createTime: null, imageCount: 1, contentHash: 'h', source: 'backfill',
    });
    await upsertListings(t.db, [listing('A'), listing('B'), listing('C')], null);
    await markProcessedMany(t.db, [{ id: 'A', contentHash: 'h' }, { id: 'B', contentHash: 'h' }]);
    // C failed after an edit: `classify` never predicts it again, so its old prediction must not pin clf@1.
    await markFailed(t.db, 'C', 'h', 'No text and no usable photo.');
    await upsertImages(t.db, [{ id: 'A-0', listingId: 'A', position: 0, sourceUri: '/a' }, { id: 'B-0', listingId: 'B', position: 0, sourceUri: '/b' }]);
    for (const g of [1, 2, 3]) {
      for (const v of [`text@${g}`, `text@${g}#oof`]) await upsertTextEmbeddings(t.db, v, [{ listingId: 'A', contentHash: 'h', vector: [1] }, { listingId: 'B', contentHash: 'h', vector: [2] }]);
      for (const v of [`image@${g}`, `image@${g}#oof`]) await upsertImageEmbeddings(t.db, v, [{ imageId: 'A-0', vector: [1] }, { imageId: 'B-0', vector: [2] }]);
    }
    const prediction = (listingId: string, modelVersion: string) => ({
      listingId, modelVersion, category: 'Home & Garden', categoryCode: 4, probabilities: Array.from({ length: 13 }, () => 1 / 13), modality: 'combined' as const, embedding: [1, 2],
    });
    // A was classified by every classifier; B not yet by the current one.
    await upsertPredictions(t.db, [prediction('A', 'clf@1'), prediction('A', 'clf@2'), prediction('A', 'clf@3'), prediction('B', 'clf@1'), prediction('B', 'clf@2'), prediction('C', 'clf@1')]);
  });
  afterAll(async () => {
    await t?.close();
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('plans with --dry-run and changes nothing', async () => {
    const before = await rowsByVersion();
    const r = await t.cli<PruneJson>(['models', 'prune', '--keep', '0', '--dry-run']);
    expect(r.dryRun).toBe(true);
    // clf@2 stays: B's only prediction besides clf@1's; so do the encoders it runs on.
    expect(r.removed.map((m) => m.version).sort()).toEqual(['clf@1', 'image@1', 'text@1']);
    expect(r.kept.find((k) => k.version === 'clf@2')?.why).toMatch(/^1 listing\(s\) have a prediction from it and from no kept classifier; run `classify`/);
    expect(r.kept.find((k) => k.version === 'text@2')?.why).toBe('the kept classifier clf@2 runs on it');
    expect(await rowsByVersion()).toEqual(before);
    expect((await loadManifest(modelsDir)).models).toHaveLength(9);
  }, 60_000);

  it('removes the rows, entries and files of old versions only, and the rest once classify has run', async () => {
    const r = await t.cli<PruneJson>(['models', 'prune', '--keep', '0']);
    expect(r.rows).toEqual({ textEmbeddings: 4, imageEmbeddings: 4, predictions: 3 });
    expect(await rowsByVersion()).toEqual([
      'clf@2:2', 'clf@3:1', 'image@2#oof:2', 'image@2:2', 'image@3#oof:2', 'image@3:2', 'text@2#oof:2', 'text@2:2', 'text@3#oof:2', 'text@3:2',
    ].sort());
    expect((await loadManifest(modelsDir)).models.map((m) => m.version).sort()).toEqual(['clf@2', 'clf@3', 'image@2', 'image@3', 'text@2', 'text@3']);
    expect((await readdir(path.join(modelsDir, 'generated'))).sort()).toEqual(['clf_2.onnx', 'clf_3.onnx', 'image_2.onnx', 'image_3.onnx', 'text_2.onnx', 'text_3.onnx']);

    // `classify` gives B its current prediction: generation 2 can go now.
    await upsertPredictions(t.db, [{ listingId: 'B', modelVersion: 'clf@3', category: 'Home & Garden', categoryCode: 4, probabilities: Array.from({ length: 13 }, () => 1 / 13), modality: 'combined', embedding: [1, 2] }]);
    const again = await t.cli<PruneJson>(['models', 'prune', '--keep', '0']);
    expect(again.removed.map((m) => m.version).sort()).toEqual(['clf@2', 'image@2', 'text@2']);
    expect(await rowsByVersion()).toEqual(['clf@3:2', 'image@3#oof:2', 'image@3:2', 'text@3#oof:2', 'text@3:2'].sort());
    expect((await t.cli<PruneJson>(['models', 'prune', '--keep', '0'])).removed).toEqual([]);
  }, 60_000);

  it('deletes across pages of listings and photos (a page of one here)', async () => {
    for (const v of ['paged@1', 'paged@1#oof']) {
      await upsertTextEmbeddings(t.db, v, [{ listingId: 'A', contentHash: 'h', vector: [1] }, { listingId: 'B', contentHash: 'h', vector: [2] }, { listingId: 'C', contentHash: 'h', vector: [3] }]);
      await upsertImageEmbeddings(t.db, v, [{ imageId: 'A-0', vector: [1] }, { imageId: 'B-0', vector: [2] }]);
    }
    const before = await rowsByVersion();
    expect(await deleteModelVersionRows(t.db, ['paged@1'], '#oof', 1)).toEqual({ textEmbeddings: 6, imageEmbeddings: 4, predictions: 0 });
    expect(await rowsByVersion()).toEqual(before.filter((r) => !r.startsWith('paged@1')));
  });

  it('deletes the rows of versions no manifest entry lists only with --orphans', async () => {
    const before = await rowsByVersion();
    for (const v of ['ghost@1', 'ghost@1#oof']) await upsertTextEmbeddings(t.db, v, [{ listingId: 'A', contentHash: 'h', vector: [1] }]);
    expect((await t.cli<PruneJson & { orphanVersions: string[] }>(['models', 'prune'])).orphanVersions).toEqual([]);
    const dry = await t.cli<PruneJson & { orphanVersions: string[] }>(['models', 'prune', '--orphans', '--dry-run']);
    expect(dry.orphanVersions).toEqual(['ghost@1']);
    expect(await rowsByVersion()).toEqual([...before, 'ghost@1#oof:1', 'ghost@1:1'].sort());
    const done = await t.cli<PruneJson & { orphanVersions: string[] }>(['models', 'prune', '--orphans']);
    expect(done).toMatchObject({ orphanVersions: ['ghost@1'], rows: { textEmbeddings: 2, imageEmbeddings: 0, predictions: 0 } });
    expect(await rowsByVersion()).toEqual(before);
  }, 60_000);
});
