// Exact versus approximate (HNSW) similarity search: query time and recall@10 of HNSW against exact
// search, on the sample's real fused embeddings and on a larger collection made from them (each real
// vector plus small noise, BENCH_ANN_SIZE rows, default 20,000) to show where one exact pass stops
// being cheap.   npm run bench:api:ann       (after npm run bench:api:prepare)
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/pool.js';
import { CATEGORY_NAMES } from '../src/domain/category.js';
import { latestPredictionVersion } from '../src/db/search-repo.js';
import { seededRandom } from '../src/images/index.js';
import { ExactIndex } from '../src/search/exact-index.js';
import { HnswIndex } from '../src/search/hnsw.js';
import { SearchIndex } from '../src/search/search-index.js';
import { benchEnv, percentiles, report } from './api-support.js';

const K = 10;
const QUERIES = 300;
const env = benchEnv();
const db = createDb(loadConfig(env));
const version = await latestPredictionVersion(db);
if (!version) throw new Error('The bench schema has no predictions; run `npm run bench:api:prepare` first.');
const loaded = new SearchIndex({ db, log: pino({ level: 'warn' }), classes: CATEGORY_NAMES, categoryWeight: 0, modelVersion: version, pollMs: 60_000, resyncMs: 3_600_000 });
await loaded.start();
const { rows } = await db.query<{ listing_id: string }>('SELECT listing_id FROM predictions WHERE model_version = $1', [version]);
const real = rows.map((r) => ({ id: r.listing_id, v: loaded.vectorOf(r.listing_id)! }));
await loaded.close();
await db.close();

function compare(label: string, items: { id: string; v: Float32Array }[], efSearch: number[]) {
  const rand = seededRandom(11);
  const exact = new ExactIndex();
  for (const it of items) exact.upsert(it.id, 'all', it.v);
  const dim = items[0]!.v.length;
  const hnsw = new HnswIndex(dim, { m: 16, efConstruction: 100 });
  const buildStart = performance.now();
  for (const it of items) hnsw.add(it.id, it.v);
  const buildSeconds = (performance.now() - buildStart) / 1000;
  const queries = Array.from({ length: QUERIES }, () => items[Math.floor(rand() * items.length)]!);
  const exactMs: number[] = [];
  const truth = queries.map((q) => {
    const t0 = performance.now();
    const hits = exact.search(q.v, { k: K, excludeId: q.id });
    exactMs.push(performance.now() - t0);
    return new Set(hits.map((h) => h.id));
  });
  const approximate = efSearch.map((ef) => {
    const ms: number[] = [];
    let found = 0;
    queries.forEach((q, i) => {
      const t0 = performance.now();
      const hits = hnsw.search(q.v, K + 1, ef).filter((h) => h.id !== q.id).slice(0, K);
      ms.push(performance.now() - t0);
      found += hits.filter((h) => truth[i]!.has(h.id)).length;
    });
    return { efSearch: ef, recallAt10: Math.round((found / (QUERIES * K)) * 1000) / 1000, query: percentiles(ms) };
  });
  return { label, rows: items.length, dim, exact: { query: percentiles(exactMs) }, hnsw: { m: 16, efConstruction: 100, buildSeconds: Math.round(buildSeconds * 10) / 10, approximate } };
}

const size = Math.min(200_000, Number(process.env.BENCH_ANN_SIZE ?? 20_000));
const rand = seededRandom(5);
const scaled = Array.from({ length: size }, (_, i) => {
  const base = real[i % real.length]!.v;
  return { id: `s${i}`, v: Float32Array.from(base, (x) => x + (rand() - 0.5) * 0.2 * Math.abs(x || 0.1)) };
});
report('exact-vs-hnsw', { modelVersion: version, sample: compare('sample', real, [16, 32, 64, 128]), scaled: compare(`sample x${Math.round(size / real.length)} with noise`, scaled, [32, 64, 128]) });
