// A big catalogue does not land in Redis all at once: submitInChunks (what the backfill and nightly job
// use) stops enqueuing while the pool queues hold more than BACKFILL_MAX_QUEUED_JOBS unfinished jobs,
// says when no worker drains them, and carries on once the pools run. Real Redis, BullMQ and Postgres;
// the pools are real processes, started part-way.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildListing } from '../src/domain/listing.js';
import { renderSyntheticPhoto } from '../src/images/index.js';
import { submitInChunks, type ChunkedSubmitResult } from '../src/pipeline/submit-in-chunks.js';
import type { ListingWithPhotos } from '../src/pipeline/submit-listings.js';
import type { ListingFlowProducer } from '../src/queues/flows.js';
import type { QueueAdmin } from '../src/queues/queue-admin.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';
import { producerSide, type ProducerSide } from './support/producer.js';

describe('chunked submit with a queue high-water mark', () => {
  let t: TestPipeline;
  let dir: string;
  let side: ProducerSide;
  let producer: ListingFlowProducer;
  let admin: QueueAdmin;
  const work: ListingWithPhotos[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'backpressure-'));
    t = await createTestPipeline({ MODELS_DIR: path.join(dir, 'models'), IMAGE_CLEAN_SANDBOXED: '0' });
    side = producerSide(t);
    ({ producer, admin } = side);
    const photo = path.join(dir, 'p.jpg');
    await writeFile(photo, await renderSyntheticPhoto({ seed: 7, palette: [[120, 80, 40], [240, 240, 235]], shape: 'square', width: 80, height: 60 }));
    for (let i = 0; i < 10; i++) {
      const id = `L${i}`;
      const listing = buildListing(
        { id, productName: `Oak table ${i}`, category: 'Home & Garden', description: `solid oak table number ${i}`, price: '£40', location: 'Leeds' },
        [{ id: `${id}-p`, createTime: null }],
      );
      work.push({ listing, photos: [{ imageId: `${id}-p`, source: photo }] });
    }
  });
  afterAll(async () => {
    await side?.close();
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('holds the next chunk while the queues are over the mark, warns that no worker drains them, and finishes once pools run', async () => {
    const warnings: string[] = [];
    const waits: ChunkedSubmitResult[] = [];
    let maxOutstanding = 0;
    // Each listing's flow is 3 jobs (photo, text, infer); the mark is 8, so a chunk holds at most 4 jobs
    // (half the mark): one listing. Two chunks fit (6 jobs), the third waits.
    const submit = submitInChunks({ db: t.db, producer, admin, warn: (m) => warnings.push(m) }, { process: work, skip: [] }, {
      source: 'backfill',
      runId: null,
      maxQueuedJobs: 8,
      // Three listings (9 jobs) would pass the mark alone: the half-mark cap makes the chunks smaller.
      chunkListings: 3,
      pollMs: 20,
      onWait: (sofar) => waits.push({ ...sofar, enqueued: [...sofar.enqueued] }),
    });
    // No pool runs yet: the first chunk goes in, the second waits (6 + 6 > 8), and the warning comes.
    const stored = async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM listings')).rows[0]!.n;
    for (let i = 0; i < 200 && warnings.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/No worker is connected/);
    expect(await stored()).toBe(2);
    expect(await admin.outstanding()).toBe(6);
    expect(waits.at(-1)).toMatchObject({ enqueued: ['L0', 'L1'], enqueuedPhotos: 2 });

    t.startPools();
    const sampler = setInterval(() => void admin.outstanding().then((n) => (maxOutstanding = Math.max(maxOutstanding, n)), () => undefined), 10);
    let result: ChunkedSubmitResult;
    try {
      result = await submit;
    } finally {
      clearInterval(sampler);
    }
    expect(result.enqueued).toEqual(work.map((w) => w.listing.id));
    expect(result.enqueuedPhotos).toBe(10);
    expect(await stored()).toBe(10);
    // Never more than the mark in the queues (a chunk is only added when it fits).
    expect(maxOutstanding).toBeLessThanOrEqual(8);
    expect(warnings).toHaveLength(1);

    // Every listing is processed in the end (no classifier is registered, so none is predicted).
    for (let i = 0; i < 600; i++) {
      const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM listings WHERE status = 'pending'");
      if (rows[0]!.n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { rows } = await t.db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM listings GROUP BY 1');
    expect(rows).toEqual([{ status: 'processed', n: 10 }]);
  }, 120_000);

  it('with the mark at 0 enqueues everything at once, even with no worker', async () => {
    await t.stopPools();
    const more = work.map((w, i) => ({
      listing: buildListing(
        { id: `M${i}`, productName: `Pine chair ${i}`, category: 'Home & Garden', description: `pine chair number ${i}`, price: '£15', location: 'York' },
        [{ id: `M${i}-p`, createTime: null }],
      ),
      photos: w.photos.map((p) => ({ ...p, imageId: `M${i}-p` })),
    }));
    const result = await submitInChunks({ db: t.db, producer, admin, warn: () => undefined }, { process: more, skip: [] }, {
      source: 'backfill', runId: null, maxQueuedJobs: 0, chunkListings: 2, pollMs: 20,
    });
    expect(result.enqueued).toHaveLength(10);
    expect(await admin.outstanding()).toBe(30);
  }, 60_000);
});
