// /predict/combined latency with the offline default models: one client, sequential requests, each a
// photo and a description of a listing from the held-out split, against the API as its own process.
//   npm run bench:api:predict          (after npm run bench:api:prepare)
import { readFile } from 'node:fs/promises';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/pool.js';
import { splitOf } from '../src/domain/split.js';
import { benchEnv, benchSchemaProblem, exitIfProblem, percentiles, report, startApiProcess } from './api-support.js';

const WARMUP = 20;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const env = benchEnv();
const config = loadConfig(env);
const db = createDb(config);
exitIfProblem('bench:api:predict', await benchSchemaProblem(db, config.DB_SCHEMA));
const { rows } = await db.query<{ id: string; text: string; path: string }>(
  `SELECT DISTINCT ON (l.id) l.id, l.name || ' ' || l.description_raw AS text, i.source_uri AS path
   FROM listings l JOIN images i ON i.listing_id = l.id AND i.status = 'cleaned'
   WHERE l.status = 'processed' ORDER BY l.id, i.position LIMIT 2000`,
);
await db.close();
const samples = await Promise.all(rows.filter((r) => splitOf(r.id) === 'test').slice(0, 50).map(async (r) => ({ ...r, bytes: await readFile(r.path) })));
if (samples.length === 0) throw new Error('No held-out listings with photos in the bench schema; run `npm run bench:api:prepare` first.');

const api = await startApiProcess(env, { port: Number(process.env.BENCH_API_PORT ?? 3917) });
try {
  const times: number[] = [];
  const categories = new Map<string, number>();
  for (let i = 0; i < WARMUP + REQUESTS; i++) {
    const s = samples[i % samples.length]!;
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(s.bytes)], { type: 'image/jpeg' }), `${s.id}.jpg`);
    form.append('text', s.text);
    const started = performance.now();
    const res = await fetch(`${api.url}/predict/combined`, { method: 'POST', body: form });
    const body = (await res.json()) as { Category?: string; message?: string };
    const ms = performance.now() - started;
    if (!res.ok) throw new Error(`POST /predict/combined answered ${res.status}: ${body.message}`);
    if (i >= WARMUP) {
      times.push(ms);
      categories.set(body.Category!, (categories.get(body.Category!) ?? 0) + 1);
    }
  }
  report('predict-combined', { target: 'p95 <= 50 ms, one client', distinctListings: samples.length, latency: percentiles(times), categories: Object.fromEntries(categories) });
} finally {
  await api.stop();
}
