// End to end on the real catalogue sample: a few hundred listings through real BullMQ queues, the three
// pools as real processes, real sharp and Postgres. Every row must be accounted for, a rerun must do
// no new work, and an edited listing alone must be reprocessed (and again when the edit is reverted).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';

const fbm = path.join(loadConfig().SHARED_DIR, 'data', 'fbm');
const hasFbm = existsSync(path.join(fbm, 'Products.csv'));
const LIMIT = 300;

interface Summary {
  runId: number;
  newWork: number;
  unchanged: number;
  outcome: { listings: Record<string, number>; images: Record<string, number> };
  totals: { listings: Record<string, number>; images: Record<string, number> };
  incomplete?: string;
}

describe.skipIf(!hasFbm)(`backfill of ${LIMIT} listings from ../shared/data/fbm (skipped: sample absent)`, () => {
  let t: TestPipeline;
  let tmp: string;
  const args = () => ['backfill', '--products', path.join(tmp, 'Products.csv'), '--images', path.join(fbm, 'Images.csv'), '--image-dir', path.join(fbm, 'images'), '--limit', String(LIMIT)];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'backfill-'));
    await writeFile(path.join(tmp, 'Products.csv'), await readFile(path.join(fbm, 'Products.csv')));
    t = await createTestPipeline();
    t.startPools();
  });
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  }, 300_000);

  it('accounts for every listing and photo, with reasons for every failure', async () => {
    const s = await t.cli<Summary>(args());
    expect(s.incomplete).toBeUndefined();
    expect(s.newWork).toBeGreaterThan(250);
    const { rows: listings } = await t.db.query<{ status: string; status_reason: string | null; n: number }>(
      'SELECT status, status_reason IS NOT NULL AS has_reason, count(*)::int AS n FROM listings GROUP BY 1, 2',
    );
    const byStatus = Object.fromEntries(listings.map((r) => [r.status, r.n]));
    expect(byStatus.pending).toBeUndefined();
    expect((byStatus.processed ?? 0) + (byStatus.failed ?? 0) + (byStatus.skipped ?? 0)).toBe(LIMIT);
    // Failed or skipped listings always say why.
    const { rows: unexplained } = await t.db.query(`SELECT id FROM listings WHERE status IN ('failed','skipped') AND status_reason IS NULL`);
    expect(unexplained).toEqual([]);

    const { rows: images } = await t.db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM images GROUP BY 1');
    const imgStatus = Object.fromEntries(images.map((r) => [r.status, r.n]));
    expect(imgStatus.pending).toBeUndefined();
    expect(imgStatus.cleaned).toBeGreaterThan(400);
    const { rows: badImages } = await t.db.query(`SELECT id FROM images WHERE status = 'failed' AND (failure_code IS NULL OR failure_reason IS NULL)`);
    expect(badImages).toEqual([]);
    // Each photo of a listing in the catalogue is a row; the cleaned ones carry a 154 x 154 JPEG.
    const { rows: jpeg } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM images WHERE status = 'cleaned' AND cleaned_jpeg IS NULL`);
    expect(jpeg[0]?.n).toBe(0);
    const { rows: runs } = await t.db.query<{ status: string }>('SELECT status FROM runs WHERE id = $1', [s.runId]);
    expect(runs[0]?.status).toBe('finished');
  }, 300_000);

  it('a rerun of the same catalogue does no new work and leaves row counts unchanged', async () => {
    const before = await t.db.query('SELECT (SELECT count(*) FROM listings) AS l, (SELECT count(*) FROM images) AS i, (SELECT max(updated_at) FROM listings) AS u');
    const s = await t.cli<Summary>(args());
    expect(s.newWork).toBe(0);
    expect(s.unchanged).toBe(LIMIT);
    const after = await t.db.query('SELECT (SELECT count(*) FROM listings) AS l, (SELECT count(*) FROM images) AS i, (SELECT max(updated_at) FROM listings) AS u');
    expect(after.rows).toEqual(before.rows);
  }, 300_000);

  it('an edited listing alone is reprocessed', async () => {
    const stateOf = async (id: string) =>
      (await t.db.query<{ description_raw: string; status: string; processed_at: Date }>(
        'SELECT description_raw, status, processed_at FROM listings WHERE id = $1',
        [id],
      )).rows[0];
    const { rows } = await t.db.query<{ id: string; description_raw: string; processed_at: Date }>(
      `SELECT id, description_raw, processed_at FROM listings WHERE status = 'processed' AND length(description_raw) > 40 AND description_raw !~ '["\r\n]' ORDER BY id LIMIT 1`,
    );
    const target = rows[0]!;
    const csv = await readFile(path.join(tmp, 'Products.csv'), 'utf8');
    const needle = target.description_raw.slice(0, 40);
    expect(csv.includes(needle)).toBe(true);
    await writeFile(path.join(tmp, 'Products.csv'), csv.replace(needle, `EDITED ${needle}`));
    const s = await t.cli<Summary>(args());
    expect(s.newWork).toBe(1);
    expect(s.outcome.listings.processed).toBe(1);
    const after = await stateOf(target.id);
    expect(after?.description_raw.startsWith('EDITED ')).toBe(true);
    expect(after?.status).toBe('processed');
    expect(after!.processed_at.getTime()).toBeGreaterThan(target.processed_at.getTime());

    // Reverting the edit brings back content whose finished jobs BullMQ still keeps: it is processed again.
    await writeFile(path.join(tmp, 'Products.csv'), csv);
    const reverted = await t.cli<Summary>(args());
    expect(reverted.newWork).toBe(1);
    expect(reverted.outcome.listings.processed).toBe(1);
    const back = await stateOf(target.id);
    expect(back?.description_raw).toBe(target.description_raw);
    expect(back?.status).toBe('processed');
    expect(back!.processed_at.getTime()).toBeGreaterThan(after!.processed_at.getTime());
  }, 300_000);
});
