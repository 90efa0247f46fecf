// The API's vector index against real Postgres: it loads one model version's prediction embeddings,
// follows new and changed predictions as they land, and drops deleted listings on its periodic rebuild.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertPredictions } from '../src/db/predictions-repo.js';
import { SearchIndex } from '../src/search/search-index.js';
import { createTestSchema, type TestSchema } from './support/db.js';

let t: TestSchema;
const log = pino({ level: 'silent' });
// Cosine ranking only: these tests are about consistency, not the category prior.
const plain = { classes: ['Toys', 'Tools'], categoryWeight: 0 };

async function addListings(ids: string[]): Promise<void> {
  await t.db.query(
    `INSERT INTO listings (id, name_raw, name, description_raw, model_text, price_raw, location, content_hash, source, status)
     SELECT id, id, id, '', id, '', 'Leeds', md5(id), 'test', 'processed' FROM unnest($1::text[]) AS id`,
    [ids],
  );
}

const unit = (dim: number, at: number, tilt = 0) => {
  const v = new Float32Array(dim);
  v[at] = 1;
  v[(at + 1) % dim] = tilt;
  return v;
};

async function predict(version: string, rows: { id: string; category: string; embedding: Float32Array }[]): Promise<void> {
  await upsertPredictions(t.db, rows.map((r) => ({
    listingId: r.id, modelVersion: version, category: r.category, categoryCode: 0,
    probabilities: [1], modality: 'text' as const, embedding: r.embedding,
  })));
}

beforeAll(async () => {
  t = await createTestSchema({ prefix: 'idx' });
  await addListings(['a', 'b', 'c', 'd', 'e', 'late']);
  await predict('v1', [
    { id: 'a', category: 'Toys', embedding: unit(8, 0) },
    { id: 'b', category: 'Toys', embedding: unit(8, 0, 0.3) },
    { id: 'c', category: 'Tools', embedding: unit(8, 1) },
  ]);
  await predict('v0', [{ id: 'd', category: 'Toys', embedding: unit(4, 0) }]);
});
afterAll(() => t?.drop());

describe('search index kept consistent with Postgres', () => {
  it('loads one version, follows new and changed predictions, and drops deleted listings on rebuild', async () => {
    const index = new SearchIndex({ ...plain, db: t.db, log, modelVersion: 'v1', pollMs: 60_000, resyncMs: 60_000, pageSize: 2 });
    await index.start();
    expect(index.status()).toMatchObject({ ready: true, modelVersion: 'v1', size: 3, dim: 8 });
    expect(index.search(unit(8, 0), { k: 2, excludeId: 'a' }).map((h) => h.id)).toEqual(['b', 'c']);

    // A new prediction and a changed one are picked up by the next sync.
    await predict('v1', [
      { id: 'd', category: 'Tools', embedding: unit(8, 0, 0.1) },
      { id: 'c', category: 'Toys', embedding: unit(8, 0, -0.05) },
    ]);
    await index.sync();
    expect(index.size).toBe(4);
    expect(index.categoryOf('c')).toBe('Toys');
    expect(index.search(unit(8, 0), { k: 3, excludeId: 'a' }).map((h) => h.id)).toEqual(['c', 'd', 'b']);
    expect(index.search(unit(8, 0), { k: 5, category: 'Tools' }).map((h) => h.id)).toEqual(['d']);

    // A row whose transaction started earlier but committed after the last sync is still found.
    const tx = await t.db.pool.connect();
    await tx.query('BEGIN');
    await tx.query(`SET LOCAL search_path = ${t.schema}`);
    await tx.query("SELECT now()"); // fixes the transaction's now(), i.e. the row's created_at
    await new Promise((r) => setTimeout(r, 50));
    await predict('v1', [{ id: 'e', category: 'Toys', embedding: unit(8, 2) }]);
    await index.sync();
    await tx.query(
      `INSERT INTO predictions (listing_id, model_version, category, category_code, probabilities, modality, embedding)
       VALUES ('late', 'v1', 'Toys', 0, '{1}', 'text', '{0,0,0,1,0,0,0,0}')`,
    );
    await tx.query('COMMIT');
    tx.release();
    await index.sync();
    expect(index.vectorOf('late')).not.toBeNull();
    await index.close();

    // Deleted listings leave on the next full rebuild.
    const rebuilding = new SearchIndex({ ...plain, db: t.db, log, modelVersion: 'v1', pollMs: 60_000, resyncMs: 0 });
    await rebuilding.start();
    expect(rebuilding.size).toBe(6);
    await t.db.query("DELETE FROM listings WHERE id = 'b'");
    await rebuilding.sync();
    expect(rebuilding.size).toBe(5);
    expect(rebuilding.vectorOf('b')).toBeNull();
    await rebuilding.close();
  });

  it('follows the latest stored version when the API runs no classifier', async () => {
    const index = new SearchIndex({ ...plain, db: t.db, log, modelVersion: null, pollMs: 60_000, resyncMs: 60_000 });
    await index.start();
    expect(index.modelVersion).toBe('v1');
    await predict('v2', [{ id: 'a', category: 'Toys', embedding: unit(3, 0) }]);
    await index.sync();
    expect(index.status()).toMatchObject({ modelVersion: 'v2', size: 1, dim: 3 });
    await index.close();
  });
});
