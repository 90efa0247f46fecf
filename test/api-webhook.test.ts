// The listing-created webhook against the real Redis, Postgres and worker pools (no models registered
// here, so listings end "processed" without a prediction; test/api-models.test.ts covers predictions).
// Refused deliveries must leave nothing behind: no listing row and no job in any queue.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { SubmitBatcher } from '../src/api/submit-batcher.js';
import { buildListing } from '../src/domain/listing.js';
import { renderSyntheticPhoto } from '../src/images/index.js';
import { QueueAdmin } from '../src/queues/queue-admin.js';
import { lockListingsForStore } from '../src/db/submit-repo.js';
import type { Queryable } from '../src/db/pool.js';
import { startTestApi, type TestApi } from './support/api.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';

let t: TestPipeline;
let api: TestApi;
let photoServer: http.Server;
let photoPort = 0;
let photoConnections = 0;
let photo: Buffer;
let admin: QueueAdmin;
let redis: Redis;

const listing = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  name: 'Solid oak dining table with four chairs',
  description: 'Good condition, collection only. Seats six with the leaf in.',
  price: '£120.00',
  location: 'Leeds, West Yorkshire',
  photos: [] as unknown[],
  ...over,
});

async function outstandingJobs(): Promise<number> {
  return admin.outstanding();
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function statusOf(id: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${api.url}/listings/${id}`)).json()) as Record<string, unknown>;
}

beforeAll(async () => {
  photo = await renderSyntheticPhoto({ seed: 7, palette: [[30, 120, 200], [240, 240, 240]], shape: 'square', width: 120, height: 80 });
  photoServer = http.createServer((req, res) => {
    if (req.url === '/table.jpg') return void res.writeHead(200, { 'content-type': 'image/jpeg' }).end(photo);
    if (req.url === '/to-metadata') return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    res.writeHead(404).end();
  });
  photoServer.on('connection', () => (photoConnections += 1));
  await new Promise<void>((resolve) => photoServer.listen(0, '127.0.0.1', resolve));
  photoPort = (photoServer.address() as AddressInfo).port;

  t = await createTestPipeline({
    PHOTO_HOST_ALLOWLIST: '127.0.0.1',
    PHOTO_FETCH_ALLOW_LOOPBACK: '1',
    WEBHOOK_BODY_LIMIT_BYTES: String(256 * 1024),
    API_RATE_LIMIT_PER_MINUTE: '0',
  });
  t.startPools();
  api = await startTestApi(t.env);
  redis = new Redis(t.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  admin = new QueueAdmin(redis, { QUEUE_PREFIX: t.prefix });
});

afterAll(async () => {
  await api?.close();
  await admin?.close();
  redis?.disconnect();
  await t?.close();
  photoServer?.closeAllConnections();
  await new Promise((r) => photoServer?.close(r));
});

describe('POST /webhooks/listing-created: refusals leave nothing behind', () => {
  const refusedWithNothingEnqueued = async (res: Response, status: number, id: string, message: RegExp) => {
    const body = (await res.json()) as { statusCode: number; message: string; stack?: unknown };
    expect(res.status).toBe(status);
    expect(body.statusCode).toBe(status);
    expect(body.message).toMatch(message);
    expect(body.stack).toBeUndefined();
    const { rows } = await t.db.query('SELECT id FROM listings WHERE id = $1', [id]);
    expect(rows).toEqual([]);
    expect(await outstandingJobs()).toBe(0);
  };

  it('refuses a wrong signature (401)', async () => {
    await refusedWithNothingEnqueued(await api.deliver(listing('bad-sig'), { secret: 'not-the-shared-secret!!' }), 401, 'bad-sig', /does not match/);
  });

  it('refuses a body changed after signing (401)', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const signed = JSON.stringify(listing('tampered'));
    const { signPayload } = await import('../src/api/signature.js');
    const res = await fetch(`${api.url}/webhooks/listing-created`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature-timestamp': String(ts), 'x-signature': signPayload('test-webhook-secret-0123456789', ts, signed) },
      body: signed.replace('120.00', '1.00'),
    });
    await refusedWithNothingEnqueued(res, 401, 'tampered', /does not match/);
  });

  it('refuses missing signature headers (401)', async () => {
    const res = await fetch(`${api.url}/webhooks/listing-created`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(listing('unsigned')) });
    await refusedWithNothingEnqueued(res, 401, 'unsigned', /must carry x-signature/);
  });

  it('refuses stale and future timestamps (401)', async () => {
    // 60 s past the 300 s window: with 1 s, a delivery that reached the API a second later (a busy CI
    // machine) saw the future timestamp exactly 300 s ahead, inside the window, and was accepted.
    const now = Math.floor(Date.now() / 1000);
    await refusedWithNothingEnqueued(await api.deliver(listing('stale'), { timestamp: now - 360 }), 401, 'stale', /outside the 300 s window/);
    await refusedWithNothingEnqueued(await api.deliver(listing('future'), { timestamp: now + 360 }), 401, 'future', /outside the 300 s window/);
  });

  it('refuses an oversized body (413)', async () => {
    const big = listing('too-big', { description: 'x'.repeat(300 * 1024) });
    await refusedWithNothingEnqueued(await api.deliver(big), 413, 'too-big', /larger than this endpoint accepts/);
  });

  it('refuses invalid fields (400), unusable photos (422) and non-JSON bodies (415)', async () => {
    await refusedWithNothingEnqueued(await api.deliver({ ...listing('no-name'), name: '' }), 400, 'no-name', /name/);
    await refusedWithNothingEnqueued(await api.deliver(listing('123456')), 400, '123456', /id/);
    // Postgres cannot store NUL: refused here with the field's name, not a 500 from the database.
    await refusedWithNothingEnqueued(await api.deliver(listing('nul-name', { name: 'Oak\u0000table' })), 400, 'nul-name', /NUL character[\s\S]*name/);
    await refusedWithNothingEnqueued(await api.deliver(listing('nul-text', { description: 'Seats six\u0000' })), 400, 'nul-text', /NUL character[\s\S]*description/);
    await refusedWithNothingEnqueued(await api.deliver({}, { raw: '{"id": "broken' }), 400, 'broken', /not valid JSON/);
    // A category outside the 13 would become a training label that stops every later `train`.
    await refusedWithNothingEnqueued(
      await api.deliver(listing('odd-cat', { category: 'Pets / Dogs' })), 400, 'odd-cat', /known top-level categories[\s\S]*category/);
    await refusedWithNothingEnqueued(
      await api.deliver(listing('long-cat', { category: '\u4e00'.repeat(1000) })), 400, 'long-cat', /category/);
    await refusedWithNothingEnqueued(
      await api.deliver(listing('bad-host', { photos: ['https://elsewhere.example/p.jpg'] })), 422, 'bad-host', /not on the photo host allow-list/);
    await refusedWithNothingEnqueued(
      await api.deliver(listing('bad-b64', { photos: [{ data: 'not base64!' }] })), 422, 'bad-b64', /not valid base64/);
    const res = await fetch(`${api.url}/webhooks/listing-created`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    await refusedWithNothingEnqueued(res, 415, 'hello', /application\/json/);
  });
});

describe('POST /webhooks/listing-created: accepted deliveries', () => {
  const id = 'wh-table-1';
  const delivery = () =>
    listing(id, {
      photos: [
        `http://127.0.0.1:${photoPort}/table.jpg`,
        { data: photo.toString('base64'), contentType: 'image/jpeg' },
        { url: `http://127.0.0.1:${photoPort}/to-metadata` },
      ],
    });

  it('answers 202 with the status URL once the flow is enqueued, and the pools finish it', async () => {
    const res = await api.deliver(delivery());
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/listings/${id}`);
    expect(await res.json()).toEqual({ status: 'accepted', listingId: id, statusUrl: `/listings/${id}` });

    const done = await waitFor('the listing to be processed', async () => {
      const s = await statusOf(id);
      return s.status === 'processed' ? s : null;
    });
    const photos = done.photos as { status: string; url: string | null; failureCode: string | null; failureReason: string | null }[];
    expect(photos.map((p) => p.status)).toEqual(['cleaned', 'cleaned', 'failed']);
    // The redirect to the metadata address was refused: the guard's reason is recorded for the photo.
    expect(photos[2]!.failureCode).toBe('url_refused');
    expect(photos[2]!.failureReason).toMatch(/169\.254\.169\.254/);
    expect(done.failures).toEqual([expect.objectContaining({ scope: 'photo 3', code: 'url_refused' })]);
    expect(done.listing).toMatchObject({ name: 'Solid oak dining table with four chairs', price: 120, location: 'Leeds, West Yorkshire' });

    const jpeg = await fetch(`${api.url}${photos[1]!.url}`);
    expect(jpeg.status).toBe(200);
    expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
    expect((await jpeg.arrayBuffer()).byteLength).toBeGreaterThan(500);
  });

  it('refuses the exact same signed request again as a replay (409), without new work', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const raw = JSON.stringify(listing('replayed'));
    expect((await api.deliver(null, { raw, timestamp: ts })).status).toBe(202);
    const again = await api.deliver(null, { raw, timestamp: ts });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { message: string }).message).toMatch(/already received/);
    await waitFor('the replayed listing to be processed', async () => (await statusOf('replayed')).status === 'processed');
  });

  /**
   * Holds the listing's store lock (the lock every producer takes before storing it) until `fn` ends, and
   * starts a delivery that blocks on it; `fn` runs once that delivery is waiting on Postgres, i.e. after it
   * claimed the request, so it is "in progress" for as long as `fn` runs.
   */
  async function withDeliveryBlocked(listingId: string, raw: string, timestamp: number, fn: (blocked: { pid: number }) => Promise<void>): Promise<Response> {
    let first: Promise<Response> | undefined;
    await t.db.withTransaction(async (tx: Queryable) => {
      await lockListingsForStore(tx, [listingId]);
      const me = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      first = api.deliver(null, { raw, timestamp });
      const pid = await waitFor('the first attempt to wait on the store lock', async () =>
        (await tx.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [me])).rows[0]?.pid);
      await fn({ pid });
    });
    return first!;
  }

  it('asks a copy of a request still being processed to retry (429), not to treat it as delivered; afterwards it is a replay (409)', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const raw = JSON.stringify(listing('inflight'));
    const first = await withDeliveryBlocked('inflight', raw, ts, async () => {
      const copy = await api.deliver(null, { raw, timestamp: ts });
      expect(copy.status).toBe(429);
      expect(copy.headers.get('retry-after')).toBe('2');
      expect(((await copy.json()) as { message: string }).message).toMatch(/being processed by another attempt/);
    });
    expect(first.status).toBe(202);
    const later = await api.deliver(null, { raw, timestamp: ts });
    expect(later.status).toBe(409);
    await waitFor('the listing to be processed', async () => (await statusOf('inflight')).status === 'processed');
  });

  it('takes the same signed request again when the attempt that was running when a copy arrived fails', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const raw = JSON.stringify(listing('inflight-fails'));
    const first = await withDeliveryBlocked('inflight-fails', raw, ts, async ({ pid }) => {
      expect((await api.deliver(null, { raw, timestamp: ts })).status).toBe(429);
      // The first attempt's Postgres session ends under it (a failover, an operator): it fails with 5xx.
      await t.db.query('SELECT pg_terminate_backend($1)', [pid]);
    });
    expect(first.status).toBeGreaterThanOrEqual(500);
    expect(await t.db.query('SELECT 1 FROM listings WHERE id = $1', ['inflight-fails'])).toMatchObject({ rows: [] });
    // The sender's retry of the very same bytes is taken, and the listing is processed.
    expect((await api.deliver(null, { raw, timestamp: ts })).status).toBe(202);
    await waitFor('the retried listing to be processed', async () => (await statusOf('inflight-fails')).status === 'processed');
  });

  it('acknowledges a repeat delivery of an unchanged listing without reprocessing it', async () => {
    const before = await t.db.query<{ processed_at: Date; updated_at: Date }>('SELECT processed_at, updated_at FROM listings WHERE id = $1', [id]);
    const connections = photoConnections;
    const res = await api.deliver(delivery(), { timestamp: Math.floor(Date.now() / 1000) - 1 });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'unchanged', listingId: id });
    const after = await t.db.query('SELECT processed_at, updated_at FROM listings WHERE id = $1', [id]);
    expect(after.rows).toEqual(before.rows);
    expect(await outstandingJobs()).toBe(0);
    expect(photoConnections).toBe(connections);
  });

  it('reprocesses a changed listing', async () => {
    const before = (await statusOf(id)).processedAt as string;
    const res = await api.deliver({ ...delivery(), description: 'Now with six chairs.' });
    expect(res.status).toBe(202);
    const done = await waitFor('the changed listing to be processed', async () => {
      const s = await statusOf(id);
      return s.status === 'processed' && s.processedAt !== before ? s : null;
    });
    expect((done.listing as { description: string }).description).toBe('Now with six chairs.');
  });

  it('takes concurrent deliveries of one listing, each signed afresh, as one listing', async () => {
    const now = Math.floor(Date.now() / 1000);
    const answers = await Promise.all([0, 1, 2, 3].map((i) => api.deliver(listing('concurrent-1'), { timestamp: now - i })));
    expect(answers.every((a) => a.status === 202 || a.status === 200)).toBe(true);
    await waitFor('the listing to be processed', async () => (await statusOf('concurrent-1')).status === 'processed');
    const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM listings WHERE id = 'concurrent-1'");
    expect(rows[0]!.n).toBe(1);
  });

  it('keeps an inline photo that one delivery drops and the next, arriving meanwhile, adds back', async () => {
    const inline = { data: photo.toString('base64'), contentType: 'image/jpeg' };
    const now = Math.floor(Date.now() / 1000);
    expect((await api.deliver(listing('readd-1', { photos: [inline] }), { timestamp: now })).status).toBe(202);
    await waitFor('the first delivery to be processed', async () => (await statusOf('readd-1')).status === 'processed');
    // Without the photo, then with it again, the second arriving while the first is being stored (staged:
    // another connection holds the listing's row, so the first delivery's store waits for it).
    const holder = await t.db.pool.connect();
    let answers: Response[];
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT 1 FROM listings WHERE id = 'readd-1' FOR UPDATE");
      const dropped = api.deliver(listing('readd-1', { description: 'No photo for now.' }), { timestamp: now - 1 });
      await new Promise((r) => setTimeout(r, 300));
      const back = api.deliver(listing('readd-1', { description: 'Photo is back.', photos: [inline] }), { timestamp: now - 2 });
      await new Promise((r) => setTimeout(r, 300));
      await holder.query('COMMIT');
      answers = await Promise.all([dropped, back]);
    } finally {
      holder.release();
    }
    expect(answers.map((r) => r.status)).toEqual([202, 202]);
    const done = await waitFor('the listing to be processed with its photo back', async () => {
      const s = await statusOf('readd-1');
      return s.status === 'processed' && (s.listing as { description: string }).description === 'Photo is back.' ? s : null;
    });
    // The photo's bytes are there and it was cleaned (it failed as missing_upload when the dropping
    // delivery's batch deleted the upload the re-adding delivery had found already stored).
    expect((done.photos as { status: string; failureCode?: string | null }[]).map((p) => p.status)).toEqual(['cleaned']);
    const { rows } = await t.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM uploaded_photos u JOIN images i ON i.id = u.image_id WHERE i.listing_id = 'readd-1'");
    expect(rows[0]!.n).toBe(1);
  });

  it('answers 404 as JSON for unknown listings and photos', async () => {
    const res = await fetch(`${api.url}/listings/nope-404`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect((await fetch(`${api.url}/photos/nope-404`)).status).toBe(404);
    expect((await fetch(`${api.url}/no/such/route`)).status).toBe(404);
  });

  it('answers 400 for ids that cannot be listing or photo ids, such as %00, instead of passing them to Postgres', async () => {
    for (const path of ['/listings/%00', '/listings/a%00b', '/listings/%00/similar', '/photos/%00', '/photos/-leading-dash']) {
      const res = await fetch(`${api.url}${path}`);
      expect(res.status, path).toBe(400);
      expect(await res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    }
  });
});

describe('submit batches', () => {
  it('retries a failed batch one listing at a time, so a listing Postgres refuses fails alone', async () => {
    // One batch in flight: the first delivery goes alone, the next three wait and go together.
    const batcher = new SubmitBatcher({ db: api.deps.db, producer: api.deps.producer }, 200, 1);
    const work = (id: string, name: string) => ({
      listing: buildListing({ id, productName: name, category: '', description: 'Sturdy, no marks.', price: '£40', location: 'York' }, []),
      photos: [],
    });
    // The NUL (which the webhook schema refuses) stands for any listing Postgres refuses.
    const ids = ['batch-a', 'batch-b', 'batch-nul', 'batch-c'];
    // The refused listing carries inline photo bytes: they go back with its transaction.
    const upload = [{ imageId: 'batch-nul-p0', listingId: 'batch-nul', bytes: photo, sha256: createHash('sha256').update(photo).digest('hex') }];
    const outcomes = await Promise.allSettled(ids.map((id) =>
      batcher.submit(work(id, id === 'batch-nul' ? 'Pine\u0000bookcase' : 'Pine bookcase'), Date.now(), id === 'batch-nul' ? upload : [])));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : null))).toEqual(['enqueued', 'enqueued', null, 'enqueued']);
    const { rows } = await t.db.query<{ id: string }>('SELECT id FROM listings WHERE id = ANY($1) ORDER BY id', [ids]);
    expect(rows.map((r) => r.id)).toEqual(['batch-a', 'batch-b', 'batch-c']);
    expect((await t.db.query("SELECT 1 FROM uploaded_photos WHERE listing_id = 'batch-nul'")).rows).toEqual([]);
    await batcher.drain();
  });
});

describe('malformed multipart bodies', () => {
  it('answers 400, not 500, for a form without a boundary or cut short', async () => {
    const noBoundary = await fetch(`${api.url}/predict/text`, { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'text=oak+table' });
    expect(noBoundary.status).toBe(400);
    expect(((await noBoundary.json()) as { message: string }).message).toMatch(/^Malformed multipart\/form-data body: .*[Bb]oundary/);
    const truncated = await fetch(`${api.url}/predict/combined`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      body: '--XyZ\r\nContent-Disposition: form-data; name="image"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff partial',
    });
    expect(truncated.status).toBe(400);
    expect(((await truncated.json()) as { message: string }).message).toMatch(/^Malformed multipart\/form-data body: /);
  });
});

describe('without models, limits and secrets', () => {
  it('answers 503 for predictions and search, and /readyz says why', async () => {
    const f = new FormData();
    f.append('text', 'oak table');
    const predictRes = await fetch(`${api.url}/predict/text`, { method: 'POST', body: f });
    expect(predictRes.status).toBe(503);
    expect(((await predictRes.json()) as { message: string }).message).toMatch(/missing the combined classifier/);
    expect((await fetch(`${api.url}/search?q=oak+table`)).status).toBe(503);
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'not ready', checks: { redis: { ok: true }, postgres: { ok: true }, models: { ok: false } } });
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
  });

  it('rate-limits the public ranking and prediction routes (429), not the webhook', async () => {
    const limited = await startTestApi({ ...t.env, API_RATE_LIMIT_PER_MINUTE: '2' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${limited.url}/search?q=oak`)).status);
      expect(statuses).toEqual([503, 503, 429]);
      const res = await fetch(`${limited.url}/search?q=oak`);
      expect(res.headers.get('retry-after')).toBeTruthy();
      expect(await res.json()).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
      const hooks = await Promise.all([0, 1, 2].map((i) => limited.deliver(listing(`rl-${i}`))));
      expect(hooks.map((h) => h.status)).toEqual([202, 202, 202]);
    } finally {
      await limited.close();
    }
  });

  it('refuses every delivery with 503 when no webhook secret is configured', async () => {
    const open = await startTestApi({ ...t.env, WEBHOOK_SECRET: '' });
    try {
      const res = await open.deliver(listing('no-secret'));
      expect(res.status).toBe(503);
      expect(((await res.json()) as { message: string }).message).toMatch(/no WEBHOOK_SECRET/);
    } finally {
      await open.close();
    }
  });
});
