// Listing-created to prediction stored, with the three pools running beside the API: held-out listings
// of the sample (text and 1-2 photo URLs served by a local server on 127.0.0.1) are delivered through
// the signed webhook at a steady rate (default 20/s for 60 s), on a fresh schema and queue prefix with
// the bench models (npm run bench:api:prepare). Latency = prediction row's created_at - send time.
//   npm run bench:api:e2e              BENCH_RATE=20 BENCH_SECONDS=60
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { signPayload } from '../src/api/signature.js';
import { loadCatalogue } from '../src/catalogue/load-catalogue.js';
import { splitOf } from '../src/domain/split.js';
import { QueueAdmin } from '../src/queues/queue-admin.js';
import { connectRedis } from '../src/queues/connection.js';
import { createTestPipeline } from '../test/support/pipeline.js';
import { benchModelsDir, benchModelsProblem, exitIfProblem, percentiles, report, startApiProcess } from './api-support.js';
import { requireSample } from './sample.js';

const RATE = Number(process.env.BENCH_RATE ?? 20);
const SECONDS = Math.min(600, Number(process.env.BENCH_SECONDS ?? 60));
const WARMUP = 40;
const SECRET = 'bench-webhook-secret-0123456789';
const fbm = requireSample('bench:api:e2e');
exitIfProblem('bench:api:e2e', await benchModelsProblem(benchModelsDir()));

const catalogue = await loadCatalogue({ productsPath: path.join(fbm, 'Products.csv'), imagesPath: path.join(fbm, 'Images.csv'), imageDir: path.join(fbm, 'images') });
const listings = catalogue.listings.filter((l) => l.imageIds.length > 0);
// Held-out listings first (what a new listing looks like to the models), then the rest.
listings.sort((a, b) => Number(splitOf(b.id) === 'test') - Number(splitOf(a.id) === 'test'));

const photoServer = http.createServer((req, res) => {
  const id = /^\/photos\/([A-Za-z0-9_-]+)\.jpg$/.exec(req.url ?? '')?.[1];
  if (!id) return void res.writeHead(404).end();
  readFile(path.join(fbm, 'images', `${id}.jpg`)).then(
    (bytes) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(bytes),
    () => res.writeHead(404).end(),
  );
});
await new Promise<void>((resolve) => photoServer.listen(0, '127.0.0.1', resolve));
const photoBase = `http://127.0.0.1:${(photoServer.address() as AddressInfo).port}/photos`;

const env = { MODELS_DIR: benchModelsDir(), LOG_LEVEL: 'warn', PHOTO_HOST_ALLOWLIST: '127.0.0.1', PHOTO_FETCH_ALLOW_LOOPBACK: '1' };
const t = await createTestPipeline(env);
t.startPools();
const api = await startApiProcess({ ...t.env, WEBHOOK_SECRET: SECRET, API_RATE_LIMIT_PER_MINUTE: '0' }, { port: Number(process.env.BENCH_API_PORT ?? 3920) });

const sentAt = new Map<string, number>();
async function deliver(i: number): Promise<number> {
  const l = listings[i % listings.length]!;
  const raw = JSON.stringify({
    id: l.id,
    name: l.nameRaw,
    description: l.descriptionRaw,
    price: l.priceRaw,
    location: l.location,
    photos: l.imageIds.slice(0, 2).map((id) => `${photoBase}/${id}.jpg`),
  });
  const ts = Math.floor(Date.now() / 1000);
  sentAt.set(l.id, Date.now());
  const res = await fetch(`${api.url}/webhooks/listing-created`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-signature-timestamp': String(ts), 'x-signature': signPayload(SECRET, ts, raw) },
    body: raw,
  });
  await res.arrayBuffer();
  return res.status;
}

async function waitForPredictions(ids: string[], timeoutMs: number): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await t.db.query<{ listing_id: string; ms: number }>(
      'SELECT listing_id, (extract(epoch FROM created_at) * 1000)::float8 AS ms FROM predictions WHERE listing_id = ANY($1::text[])',
      [ids],
    );
    if (rows.length === ids.length || Date.now() > deadline) return new Map(rows.map((r) => [r.listing_id, r.ms]));
    await new Promise((r) => setTimeout(r, 500));
  }
}

try {
  // Warm-up: the pools' first jobs load models and fork sandboxed children.
  const warm = await Promise.all(Array.from({ length: WARMUP }, (_, i) => deliver(listings.length - 1 - i)));
  if (warm.some((s) => s !== 202)) throw new Error(`Warm-up deliveries were refused: ${warm.join(', ')}.`);
  const warmIds = Array.from({ length: WARMUP }, (_, i) => listings[listings.length - 1 - i]!.id);
  const warmDone = await waitForPredictions(warmIds, 180_000);
  if (warmDone.size < WARMUP) throw new Error(`Only ${warmDone.size}/${WARMUP} warm-up listings got a prediction; are the bench models trained (npm run bench:api:prepare)?`);

  const total = Math.min(RATE * SECONDS, listings.length - WARMUP);
  const start = performance.now();
  const startedAt = Date.now();
  const statuses: Promise<number>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / RATE - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    statuses.push(deliver(i));
  }
  const codes = await Promise.all(statuses);
  const ids = listings.slice(0, total).map((l) => l.id);
  const stored = await waitForPredictions(ids, 120_000);
  const latencies = ids.filter((id) => stored.has(id)).map((id) => stored.get(id)! - sentAt.get(id)!);
  const { rows } = await t.db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM listings WHERE id = ANY($1::text[]) GROUP BY 1', [ids]);
  // Where the time went, from the jobs BullMQ kept (KEEP_COMPLETED_JOBS per queue, the latest first) for
  // the measured listings only: the warm-up's jobs include loading models and forking sandboxed children.
  const redis = await connectRedis(t.config, 'producer');
  const admin = new QueueAdmin(redis, t.config);
  const stages: Record<string, { waitMs: ReturnType<typeof percentiles>; processingMs: ReturnType<typeof percentiles> }> = {};
  for (const [name, queue] of admin.queues) {
    const jobs = (await queue.getJobs(['completed'], 0, 999)).filter((j) => j.processedOn && j.finishedOn && j.timestamp >= startedAt);
    stages[name] = {
      waitMs: percentiles(jobs.map((j) => j.processedOn! - j.timestamp)),
      processingMs: percentiles(jobs.map((j) => j.finishedOn! - j.processedOn!)),
    };
  }
  await admin.close();
  await redis.quit();
  report('listing-created-to-prediction', {
    target: 'p95 <= 1 s at 20 listings/s sustained, pools running',
    rate: RATE,
    seconds: SECONDS,
    delivered: codes.length,
    accepted: codes.filter((c) => c === 202).length,
    predicted: stored.size,
    listingStatuses: Object.fromEntries(rows.map((r) => [r.status, r.n])),
    photosPerListing: Math.round((listings.slice(0, total).reduce((n, l) => n + Math.min(2, l.imageIds.length), 0) / total) * 100) / 100,
    latency: percentiles(latencies),
    stages,
  });
} finally {
  await api.stop();
  await t.close();
  photoServer.closeAllConnections();
  photoServer.close();
}
