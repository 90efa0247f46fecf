// Webhook accept latency: signed listing-created deliveries at a fixed rate (default 200/s for 60 s,
// open loop: requests leave on schedule whether or not earlier ones have answered) against the API as
// its own process, on a fresh schema and queue prefix that are dropped afterwards. The pools are not
// running, so this measures the accept path alone: verify, replay check, validate, store, enqueue.
// A warm-up at the same rate (BENCH_WARMUP_SECONDS, default 5) comes first and is not recorded.
//   npm run bench:api:webhook          BENCH_RATE=200 BENCH_SECONDS=60
import { signPayload } from '../src/api/signature.js';
import { createTestPipeline } from '../test/support/pipeline.js';
import { benchModelsDir, keepAliveAgent, percentiles, postJson, report, startApiProcess } from './api-support.js';

const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Math.min(600, Number(process.env.BENCH_SECONDS ?? 60));
const SECRET = 'bench-webhook-secret-0123456789';
const WORDS = 'oak table chair sofa bike phone laptop drill jacket boots lamp mirror desk pram cot guitar console'.split(' ');

const t = await createTestPipeline({ MODELS_DIR: benchModelsDir(), LOG_LEVEL: 'warn' });
const env = { ...t.env, WEBHOOK_SECRET: SECRET, PHOTO_HOST_ALLOWLIST: '127.0.0.1', API_RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' };
const api = await startApiProcess(env, { port: Number(process.env.BENCH_API_PORT ?? 3919), requireReady: false });
const run = Date.now().toString(36);
const agent = keepAliveAgent();

function body(i: number): string {
  const w = (k: number) => WORDS[(i * 7 + k * 13) % WORDS.length];
  return JSON.stringify({
    id: `bench-${run}-${i}`,
    name: `${w(1)} ${w(2)} for sale`,
    description: `A ${w(3)} and a ${w(4)} in good condition, collection from ${w(5)} street. Listing ${i}.`,
    price: `£${(i % 500) + 1}.00`,
    location: 'Leeds, West Yorkshire',
    // Never fetched here (no pools run); a realistic body carries photo URLs.
    photos: [`http://127.0.0.1:9/photos/${run}-${i}-a.jpg`, `http://127.0.0.1:9/photos/${run}-${i}-b.jpg`],
  });
}

/**
 * One delivery; its latency counts from `due`, the moment the schedule meant it to leave, when the
 * generator sent it late (open loop: a stalled generator must not hide the wait it caused).
 */
async function deliver(i: number, due: number): Promise<{ ms: number; status: number }> {
  const raw = body(i);
  const ts = Math.floor(Date.now() / 1000);
  const started = Math.min(due, performance.now());
  const status = await postJson(agent, `${api.url}/webhooks/listing-created`, { 'x-signature-timestamp': String(ts), 'x-signature': signPayload(SECRET, ts, raw) }, raw);
  return { ms: performance.now() - started, status };
}

/** Sends n deliveries at RATE per second from `start`, open loop; returns their pending results. */
async function offerTimed(n: number, start: number, idOf: (i: number) => number = (i) => i) {
  const results: Promise<{ ms: number; status: number }>[] = [];
  let maxLagMs = 0;
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    maxLagMs = Math.max(maxLagMs, performance.now() - due);
    results.push(deliver(idOf(i), due));
  }
  return { results, maxLagMs };
}

try {
  // Warm-up at the measured rate (open loop, like the run itself): JIT, both sides' connection pools
  // and per-connection prepared statements reach their steady state before anything is recorded.
  const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
  await Promise.all((await offerTimed(RATE * warmupSeconds, performance.now(), (i) => -1 - i)).results);
  const start = performance.now();
  const { results, maxLagMs } = await offerTimed(RATE * SECONDS, start);
  const done = await Promise.all(results);
  const elapsed = (performance.now() - start) / 1000;
  const statuses: Record<string, number> = {};
  for (const d of done) statuses[d.status] = (statuses[d.status] ?? 0) + 1;
  // The measured deliveries only (ids bench-<run>-<i>; the warm-up's are bench-<run>--<i>).
  const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM listings WHERE id LIKE $1 AND id NOT LIKE $2", [`bench-${run}-%`, `bench-${run}--%`]);
  report('webhook-accept', {
    target: 'p99 <= 25 ms at 200 requests/s for 60 s',
    offeredRate: RATE,
    achievedRate: Math.round((done.length / elapsed) * 10) / 10,
    seconds: Math.round(elapsed * 10) / 10,
    statuses,
    listingsStored: rows[0]?.n,
    schedulerMaxLagMs: Math.round(maxLagMs * 10) / 10,
    latency: percentiles(done.map((d) => d.ms)),
  });
} finally {
  await api.stop();
  await t.close();
}
