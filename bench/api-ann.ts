// Exact versus approximate (HNSW) similarity search: query time and recall@10 of HNSW against exact
// search, on the sample's real fused embeddings and on a larger collection made from them (each real
// vector plus small noise, BENCH_ANN_SIZE rows, default 20,000) to show where one exact pass stops
// being cheap. Then the same for the ranking the API serves (SearchIndex in hnsw mode against exact
// mode: cosine + SEARCH_CATEGORY_WEIGHT x the query's stored class probabilities, HNSW candidates
// re-scored exactly, SEARCH_ANN_EF), on the sample and on the larger collection.
//   npm run bench:api:ann       (after npm run bench:api:prepare)
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/pool.js';
import { CATEGORY_NAMES } from '../src/domain/category.js';
import { latestPredictionVersion } from '../src/db/search-repo.js';
import { seededRandom } from '../src/images/index.js';
import { ApproximateSearch, type ApproximateCounts } from '../src/search/approximate-search.js';
import { categoryPrior } from '../src/search/category-prior.js';
import { ExactIndex, type Neighbour, type SearchOptions } from '../src/search/exact-index.js';
import { HnswIndex } from '../src/search/hnsw.js';
import { recallAgainst } from '../src/search/recall.js';
import { SearchIndex } from '../src/search/search-index.js';
import { benchEnv, benchSchemaProblem, exitIfProblem, percentiles, report } from './api-support.js';

const K = 10;
const QUERIES = 300;
/** Untimed queries each side runs first (JIT, caches), so neither side's first calls land in its percentiles. */
const WARMUP = 30;
const env = benchEnv();
const config = loadConfig(env);
const db = createDb(config);
exitIfProblem('bench:api:ann', await benchSchemaProblem(db, config.DB_SCHEMA));
const version = await latestPredictionVersion(db);
if (!version) throw new Error('The bench schema has no predictions; run `npm run bench:api:prepare` first.');
// Two indexes as the API builds them (model-watcher.ts), one held in each mode: threshold 0 never
// builds the graph, threshold 1 always does, whatever the sample's size.
const served = {
  db,
  log: pino({ level: 'warn' }),
  classes: CATEGORY_NAMES,
  categoryWeight: config.SEARCH_CATEGORY_WEIGHT,
  annEf: config.SEARCH_ANN_EF,
  modelVersion: version,
  pollMs: 60_000,
  resyncMs: 3_600_000,
};
const exactServed = new SearchIndex({ ...served, annThreshold: 0 });
const hnswServed = new SearchIndex({ ...served, annThreshold: 1 });
let started = performance.now();
await exactServed.start();
const exactLoadSeconds = (performance.now() - started) / 1000;
started = performance.now();
await hnswServed.start();
const hnswLoadSeconds = (performance.now() - started) / 1000;
const { rows } = await db.query<{ listing_id: string; probabilities: Float32Array }>(
  'SELECT listing_id, probabilities FROM predictions WHERE model_version = $1',
  [version],
);
const real = rows.flatMap((r) => {
  const v = exactServed.vectorOf(r.listing_id);
  return v ? [{ id: r.listing_id, v, category: exactServed.categoryOf(r.listing_id)!, probabilities: r.probabilities }] : [];
});

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
  for (const q of queries.slice(0, WARMUP)) exact.search(q.v, { k: K, excludeId: q.id });
  const exactMs: number[] = [];
  const truth = queries.map((q) => {
    const t0 = performance.now();
    const hits = exact.search(q.v, { k: K, excludeId: q.id });
    exactMs.push(performance.now() - t0);
    return new Set(hits.map((h) => h.id));
  });
  const approximate = efSearch.map((ef) => {
    for (const q of queries.slice(0, WARMUP)) hnsw.search(q.v, K + 1, ef);
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
const rawGraph = { sample: compare('sample', real, [16, 32, 64, 128]), scaled: compare(`sample x${Math.round(size / real.length)} with noise`, scaled, [32, 64, 128]) };

// The served ranking. Each query is a listing ranked with its own stored probabilities (what
// /listings/:id/similar does), once unfiltered and once filtered to a class (cycling through them).
type Ranker = (opts: { k: number; category?: string }, query: (typeof real)[number]) => Neighbour[];
function servedRanking(exact: Ranker, approximate: Ranker, counts: () => ApproximateCounts, queries: typeof real) {
  const run = (filtered: boolean) => {
    const exactMs: number[] = [];
    const hnswMs: number[] = [];
    const exactAnswers: Neighbour[][] = [];
    const hnswAnswers: Neighbour[][] = [];
    queries.slice(0, WARMUP).forEach((q, i) => {
      const opts = filtered ? { k: K, category: CATEGORY_NAMES[i % CATEGORY_NAMES.length]! } : { k: K };
      exact(opts, q);
      approximate(opts, q);
    });
    const before = counts();
    queries.forEach((q, i) => {
      const opts = filtered ? { k: K, category: CATEGORY_NAMES[i % CATEGORY_NAMES.length]! } : { k: K };
      let t0 = performance.now();
      exactAnswers.push(exact(opts, q));
      exactMs.push(performance.now() - t0);
      t0 = performance.now();
      hnswAnswers.push(approximate(opts, q));
      hnswMs.push(performance.now() - t0);
    });
    const after = counts();
    return {
      recallAt10: Math.round(recallAgainst(hnswAnswers, exactAnswers) * 1000) / 1000,
      exact: { query: percentiles(exactMs) },
      hnsw: { query: percentiles(hnswMs) },
      // How the hnsw answers were reached: first candidates, the widened list, or the exact scan.
      answeredBy: { candidates: after.candidates - before.candidates, widened: after.widened - before.widened, exactScan: after.exact - before.exact },
    };
  };
  return { unfiltered: run(false), categoryFilter: run(true) };
}

const pick = (items: typeof real, seed: number) => {
  const rand = seededRandom(seed);
  return Array.from({ length: QUERIES }, () => items[Math.floor(rand() * items.length)]!);
};
const sampleStatus = hnswServed.status();
const servedSample = {
  rows: sampleStatus.size,
  mode: sampleStatus.mode,
  loadSeconds: { exact: Math.round(exactLoadSeconds * 10) / 10, hnsw: Math.round(hnswLoadSeconds * 10) / 10 },
  ...servedRanking(
    (opts, q) => exactServed.similarTo(q.id, opts) ?? [],
    (opts, q) => hnswServed.similarTo(q.id, opts) ?? [],
    () => hnswServed.status().approximate!,
    pick(real, 13),
  ),
};
await Promise.all([exactServed.close(), hnswServed.close()]);
await db.close();

// The larger collection, ranked as SearchIndex ranks it: each row keeps its source listing's category
// and class probabilities. (Built here from ExactIndex + ApproximateSearch, the parts SearchIndex holds
// in hnsw mode, because these rows are not in Postgres; the prior is SearchIndex's.)
const priorOf = (probabilities: Float32Array): Record<string, number> => categoryPrior(CATEGORY_NAMES, probabilities, config.SEARCH_CATEGORY_WEIGHT);
const scaledServed = scaled.map((s, i) => ({ ...real[i % real.length]!, id: s.id, v: s.v }));
const store = new ExactIndex();
for (const s of scaledServed) store.upsert(s.id, s.category, s.v);
started = performance.now();
const graph = await ApproximateSearch.build(store, { efSearch: config.SEARCH_ANN_EF });
const buildSeconds = (performance.now() - started) / 1000;
const scaledOpts = (opts: { k: number; category?: string }, q: (typeof real)[number]): SearchOptions => ({ ...opts, excludeId: q.id, prior: priorOf(q.probabilities) });
const servedScaled = {
  rows: store.size,
  buildSeconds: Math.round(buildSeconds * 10) / 10,
  ...servedRanking(
    (opts, q) => store.search(q.v, scaledOpts(opts, q)),
    (opts, q) => graph.search(q.v, scaledOpts(opts, q)),
    () => ({ ...graph.counts }),
    pick(scaledServed, 17),
  ),
};

report('exact-vs-hnsw', {
  modelVersion: version,
  ...rawGraph,
  served: { categoryWeight: config.SEARCH_CATEGORY_WEIGHT, efSearch: config.SEARCH_ANN_EF, sample: servedSample, scaled: servedScaled },
});
