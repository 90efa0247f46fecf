// /listings/:id/similar over the whole sample: latency (one client, sequential, random listings) and
// ranking quality on listings the models never saw (the held-out 10% split): the share of each query's
// 10 nearest listings whose category equals the query's own. Also times the exact search alone.
//   npm run bench:api:similar          (after npm run bench:api:prepare)
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/pool.js';
import { CATEGORY_NAMES } from '../src/domain/category.js';
import { splitOf } from '../src/domain/split.js';
import { latestPredictionVersion } from '../src/db/search-repo.js';
import { SearchIndex } from '../src/search/search-index.js';
import { seededRandom } from '../src/images/index.js';
import { benchEnv, benchSchemaProblem, exitIfProblem, percentiles, report, startApiProcess } from './api-support.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1000);
const K = 10;
const env = benchEnv();
const config = loadConfig(env);
const db = createDb(config);
exitIfProblem('bench:api:similar', await benchSchemaProblem(db, config.DB_SCHEMA));
const version = await latestPredictionVersion(db);
if (!version) throw new Error('The bench schema has no predictions; run `npm run bench:api:prepare` first.');
const index = new SearchIndex({
  db,
  log: pino({ level: 'warn' }),
  modelVersion: version,
  classes: CATEGORY_NAMES,
  categoryWeight: config.SEARCH_CATEGORY_WEIGHT,
  pollMs: 60_000,
  resyncMs: 3_600_000,
});
await index.start();
const { rows } = await db.query<{ id: string; label: string | null }>('SELECT id, label FROM listings');
const labels = new Map(rows.map((r) => [r.id, r.label]));
const ids = rows.map((r) => r.id).filter((id) => index.vectorOf(id) !== null);

// Quality on held-out listings: neighbours from the whole index, the query itself left out; with the
// API's ranking (cosine + category prior) and with cosine alone.
const searchMs: number[] = [];
const heldOut = ids.filter((id) => splitOf(id) === 'test' && labels.get(id));
const predicted = new Map((await db.query<{ listing_id: string; category: string }>('SELECT listing_id, category FROM predictions WHERE model_version = $1', [version])).rows.map((r) => [r.listing_id, r.category]));
let shared = 0;
let sharedCosine = 0;
let total = 0;
let correct = 0;
for (const id of heldOut) {
  const started = performance.now();
  const hits = index.similarTo(id, { k: K })!;
  searchMs.push(performance.now() - started);
  const cosine = index.search(index.vectorOf(id)!, { k: K, excludeId: id });
  total += K;
  shared += hits.filter((h) => labels.get(h.id) === labels.get(id)).length;
  sharedCosine += cosine.filter((h) => labels.get(h.id) === labels.get(id)).length;
  if (predicted.get(id) === labels.get(id)) correct += 1;
}
const share = (n: number) => Math.round((n / Math.max(1, total)) * 1000) / 1000;
const quality = {
  heldOutQueries: heldOut.length,
  k: K,
  categoryWeight: config.SEARCH_CATEGORY_WEIGHT,
  sameCategoryShare: share(shared),
  sameCategoryShareCosineOnly: share(sharedCosine),
  classifierHeldOutAccuracy: Math.round((correct / Math.max(1, heldOut.length)) * 1000) / 1000,
  target: '>= 0.85',
};
const indexInfo = index.status();
await index.close();
await db.close();

const api = await startApiProcess(env, { port: Number(process.env.BENCH_API_PORT ?? 3918) });
try {
  const rand = seededRandom(42);
  const times: number[] = [];
  for (let i = 0; i < 50 + REQUESTS; i++) {
    const id = ids[Math.floor(rand() * ids.length)]!;
    const started = performance.now();
    const res = await fetch(`${api.url}/listings/${encodeURIComponent(id)}/similar?k=${K}`);
    await res.arrayBuffer();
    const ms = performance.now() - started;
    if (!res.ok) throw new Error(`GET /listings/${id}/similar answered ${res.status}.`);
    if (i >= 50) times.push(ms);
  }
  report('similar', {
    modelVersion: version,
    index: { listings: indexInfo.size, dim: indexInfo.dim, exactSearch: percentiles(searchMs) },
    http: { target: 'p95 <= 20 ms', latency: percentiles(times) },
    quality,
  });
} finally {
  await api.stop();
}
