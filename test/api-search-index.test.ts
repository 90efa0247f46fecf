// The API's vector index against real Postgres: it loads one model version's prediction embeddings,
// follows new and changed predictions as they land, and drops deleted listings on its periodic rebuild;
// above its threshold it answers through an HNSW graph, nearly as an exact scan would.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertPredictions } from '../src/db/predictions-repo.js';
import { seededRandom } from '../src/images/index.js';
import { recallAgainst } from '../src/search/recall.js';
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

    // A listing edited into a duplicate (skipped) or one whose new content failed keeps its old stored
    // prediction, of content it no longer holds: it leaves at the next rebuild and does not come back.
    await t.db.query("UPDATE listings SET status = 'skipped' WHERE id = 'c'");
    await t.db.query("UPDATE listings SET status = 'failed' WHERE id = 'd'");
    await rebuilding.sync();
    expect(rebuilding.size).toBe(3);
    expect(rebuilding.search(unit(8, 0), { k: 5 }).map((h) => h.id)).not.toEqual(expect.arrayContaining(['c']));
    expect([rebuilding.vectorOf('c'), rebuilding.vectorOf('d')]).toEqual([null, null]);
    await t.db.query("UPDATE listings SET status = 'processed' WHERE id IN ('c', 'd')");
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

// These tests run in order on the rows the first one stores (1,520 listings of version 'ann').
describe('search index above the approximate threshold', () => {
  const classes = ['Toys', 'Tools', 'Garden', 'Books'];
  const rand = seededRandom(17);
  const centres = Array.from({ length: 8 }, () => Float32Array.from({ length: 16 }, () => rand() * 2 - 1));
  /** Clustered embeddings, categories mostly following the cluster, probabilities peaked on the category. */
  const rows = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => {
      const n = from + i;
      const cluster = n % centres.length;
      const code = rand() < 0.85 ? cluster % classes.length : Math.floor(rand() * classes.length);
      const raw = classes.map((_, c) => (c === code ? 3 : 0) + rand());
      const sum = raw.reduce((a, b) => a + b, 0);
      return {
        listingId: `n${n}`, modelVersion: 'ann', category: classes[code]!, categoryCode: code,
        probabilities: raw.map((x) => x / sum), modality: 'text' as const,
        embedding: Float32Array.from(centres[cluster]!, (x) => x + (rand() - 0.5) * 1.6),
      };
    });
  async function store(batch: ReturnType<typeof rows>): Promise<void> {
    await addListings(batch.map((r) => r.listingId));
    await upsertPredictions(t.db, batch);
  }
  const recall = recallAgainst;

  const ranked = { classes, categoryWeight: 0.5, modelVersion: 'ann', pollMs: 60_000 };

  it('switches to HNSW at the threshold, links followed rows, and ranks nearly as the exact scan does', async () => {
    await store(rows(0, 1200));
    const exact = new SearchIndex({ ...ranked, db: t.db, log, resyncMs: 60_000, annThreshold: 0 });
    const approx = new SearchIndex({ ...ranked, db: t.db, log, resyncMs: 60_000, annThreshold: 1500, annEf: 64 });
    await Promise.all([exact.start(), approx.start()]);
    expect(approx.status()).toMatchObject({ mode: 'exact', approximate: null, size: 1200 });

    // Crossing the threshold between rebuilds switches on the next poll.
    await store(rows(1200, 300));
    await Promise.all([exact.sync(), approx.sync()]);
    expect(approx.status()).toMatchObject({ mode: 'hnsw', size: 1500 });
    expect(exact.status()).toMatchObject({ mode: 'exact', size: 1500 });

    // Rows followed in hnsw mode are linked into the graph: found among its candidates, no exact scan.
    const late = rows(1500, 20);
    await store(late);
    await Promise.all([exact.sync(), approx.sync()]);
    const before = approx.status().approximate!;
    for (const r of late) expect(approx.search(r.embedding, { k: 3 }).map((h) => h.id)).toContain(r.listingId);
    expect(approx.status().approximate!.exact).toBe(before.exact);

    // The served ranking: similar listings with the query's own prior, a text-style query with given
    // probabilities, and a category filter.
    const queries = Array.from({ length: 120 }, (_, i) => `n${(i * 13) % 1520}`);
    const similar = (index: SearchIndex) => queries.map((id) => index.similarTo(id, { k: 10 })!);
    const approxSimilar = similar(approx);
    expect(recall(approxSimilar, similar(exact))).toBeGreaterThanOrEqual(0.95);
    approxSimilar.forEach((hits, i) => {
      expect(hits).toHaveLength(10);
      expect(hits.map((h) => h.id)).not.toContain(queries[i]);
    });
    const probabilities = [0.1, 0.2, 0.6, 0.1];
    const searched = (index: SearchIndex) => queries.map((id) => index.search(index.vectorOf(id)!, { k: 10, probabilities }));
    expect(recall(searched(approx), searched(exact))).toBeGreaterThanOrEqual(0.95);
    const filtered = (index: SearchIndex) => queries.map((id) => index.similarTo(id, { k: 10, category: 'Tools' })!);
    const approxFiltered = filtered(approx);
    expect(recall(approxFiltered, filtered(exact))).toBeGreaterThanOrEqual(0.95);
    for (const hits of approxFiltered) for (const h of hits) expect(approx.categoryOf(h.id)).toBe('Tools');
    expect(approx.status().approximate!.candidates).toBeGreaterThan(queries.length);
    await Promise.all([exact.close(), approx.close()]);
  });

  it('resyncs store and graph: deleted listings never appear, moved ones are found where they are', async () => {
    const rebuilding = new SearchIndex({ ...ranked, db: t.db, log, resyncMs: 0, annThreshold: 1000 });
    await rebuilding.start();
    expect(rebuilding.status()).toMatchObject({ mode: 'hnsw', size: 1520 });
    const gone = 'n42';
    const goneVector = rebuilding.vectorOf(gone)!;
    expect(rebuilding.search(goneVector, { k: 10 }).map((h) => h.id)).toContain(gone);
    await t.db.query('DELETE FROM listings WHERE id = $1', [gone]);

    // A changed embedding: far from every cluster, so only a re-linked graph finds it by its new vector.
    const moved = rows(77, 1)[0]!;
    const far = Float32Array.from({ length: 16 }, (_, i) => (i % 2 ? 4 : -4));
    await upsertPredictions(t.db, [{ ...moved, embedding: far }]);

    await rebuilding.sync();
    expect(rebuilding.status()).toMatchObject({ mode: 'hnsw', size: 1519 });
    expect(rebuilding.vectorOf(gone)).toBeNull();
    expect(rebuilding.search(goneVector, { k: 10 }).map((h) => h.id)).not.toContain(gone);
    expect(rebuilding.similarTo('n43', { k: 50 })!.map((h) => h.id)).not.toContain(gone);
    const before = rebuilding.status().approximate!;
    expect(rebuilding.search(far, { k: 1 })[0]!.id).toBe(moved.listingId);
    expect(rebuilding.status().approximate!.exact).toBe(before.exact);
    await rebuilding.close();
  });

  it('abandons a graph build when closed instead of holding up shutdown', async () => {
    const index = new SearchIndex({ ...ranked, db: t.db, log, resyncMs: 60_000, annThreshold: 1000 });
    const starting = index.start();
    await index.close();
    await starting;
    expect(index.status()).toMatchObject({ ready: false, mode: 'exact', lastError: null });
  });
});
