// The built-in sample catalogue (generated here, no shared data needed) carries planted dirty rows:
// a duplicate, broken photos, a bad row and an orphan photo. Each must end in Postgres with a reason.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSampleCatalogue } from '../src/catalogue/generate-sample.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';

describe('backfill of the built-in sample catalogue', () => {
  let t: TestPipeline;
  let dir: string;
  let sample: Awaited<ReturnType<typeof generateSampleCatalogue>>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'builtin-'));
    sample = await generateSampleCatalogue(dir, { listingsPerCategory: 4, seed: 11 });
    t = await createTestPipeline();
    t.startPools();
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  }, 300_000);

  it('ends every listing, photo and rejected row with a status and a reason', async () => {
    const s = await t.cli<{ newWork: number; incomplete?: string; catalogue: { duplicates: number; rejectedRows: number } }>([
      'backfill', '--products', sample.productsPath, '--images', sample.imagesPath, '--image-dir', sample.imageDir,
    ]);
    expect(s.incomplete).toBeUndefined();
    expect(s.catalogue.duplicates).toBeGreaterThanOrEqual(1);

    const listings = await t.db.query<{ status: string; status_reason: string | null }>('SELECT status, status_reason FROM listings');
    expect(listings.rows.filter((r) => r.status === 'pending')).toEqual([]);
    const skipped = listings.rows.filter((r) => r.status === 'skipped');
    expect(skipped.length).toBe(s.catalogue.duplicates);
    for (const r of skipped) expect(r.status_reason).toMatch(/Duplicate of listing/);

    const images = await t.db.query<{ status: string; failure_code: string | null; failure_reason: string | null }>(
      'SELECT status, failure_code, failure_reason FROM images',
    );
    expect(images.rows.filter((r) => r.status === 'pending')).toEqual([]);
    const failed = images.rows.filter((r) => r.status === 'failed');
    // The zero-byte photo and the text file named .jpg.
    expect(failed.map((r) => r.failure_code).sort()).toEqual(expect.arrayContaining(['empty', 'not_an_image']));
    for (const r of failed) expect(r.failure_reason?.length).toBeGreaterThan(20);

    const rejects = await t.db.query<{ reason: string }>('SELECT reason FROM row_rejects');
    expect(rejects.rows.length).toBe(s.catalogue.rejectedRows + 1); // + the orphan photo row
    for (const r of rejects.rows) expect(r.reason.length).toBeGreaterThan(20);
  }, 300_000);

  it('shows the run afterwards: `runs list` and `runs show` with its failure reasons and rejected rows', async () => {
    const { runs } = await t.cli<{ runs: { id: number; kind: string; status: string; counts: { newWork?: number } }[] }>(['runs', 'list']);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ kind: 'backfill', status: 'finished', counts: { newWork: expect.any(Number) } });
    const id = runs[0]!.id;
    const shown = await t.cli<{
      run: { id: number };
      progress: { listings: { pending: number; skipped: number } };
      failureReasons: { images: { reason: string; count: number }[] };
      rowRejects: { total: number; rejects: { file: string; line: number; reason: string }[] };
    }>(['runs', 'show', String(id), '--rejects', '1']);
    expect(shown.run.id).toBe(id);
    expect(shown.progress.listings.pending).toBe(0);
    expect(shown.failureReasons.images.map((r) => r.reason)).toEqual(expect.arrayContaining(['empty', 'not_an_image']));
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM row_rejects WHERE run_id = $1', [id]);
    expect(shown.rowRejects.total).toBe(rows[0]!.n);
    expect(shown.rowRejects.rejects).toHaveLength(1);
    expect(shown.rowRejects.rejects[0]).toMatchObject({ file: expect.stringMatching(/\.csv$/), line: expect.any(Number) });
    // An unknown run says what to run instead, and the command fails.
    await expect(t.cli(['runs', 'show', String(id + 1000)])).rejects.toThrow(/There is no run \d+; `npm run cli -- runs list`/);
  }, 120_000);

  it('a Products.csv found broken part-way fails the run and keeps the rows it rejected until then, with the failed run', async () => {
    // The sample's rows, then more quotes that never close than the reader resumes after: it gives up.
    const broken = path.join(dir, 'Broken.csv');
    const good = (await readFile(sample.productsPath, 'utf8')).trimEnd();
    const bad = Array.from({ length: 1002 }, (_, i) => `${90_000 + i},"never closed,x,Other Goods,y,\u00a31,z`).join('\n');
    await writeFile(broken, `${good}\n${bad}\n`);
    await expect(t.cli(['backfill', '--products', broken, '--images', sample.imagesPath, '--image-dir', sample.imageDir])).rejects.toThrow(/quoting is broken throughout/);

    const { rows: runs } = await t.db.query<{ id: number; status: string }>(`SELECT id, status FROM runs WHERE source = $1`, [broken]);
    expect(runs).toEqual([{ id: expect.any(Number), status: 'failed' }]);
    const { rows } = await t.db.query<{ file: string; line: number; reason: string }>('SELECT file, line, reason FROM row_rejects WHERE run_id = $1 ORDER BY line', [runs[0]!.id]);
    // The sample's planted bad row, and the unparsable lines read before the reader gave up.
    expect(rows.some((r) => r.line === sample.quirks.rejectedProductLine && r.file === broken)).toBe(true);
    expect(rows.filter((r) => /quote/i.test(r.reason)).length).toBeGreaterThanOrEqual(1000);
  }, 120_000);
});
