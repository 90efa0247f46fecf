// A listing whose flow Redis lost (here: the queues obliterated, as a Redis restart without persistence
// would leave them) is found by `queues requeue-lost` and processed once the pools run; a listing whose
// flow is only waiting is left alone, and nothing is enqueued twice. Real Redis, BullMQ, Postgres, pools.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildListing } from '../src/domain/listing.js';
import { renderSyntheticPhoto } from '../src/images/index.js';
import { requeueLostListings } from '../src/pipeline/requeue-lost.js';
import { submitListings, type ListingWithPhotos } from '../src/pipeline/submit-listings.js';
import { ListingFlowProducer } from '../src/queues/flows.js';
import type { QueueAdmin } from '../src/queues/queue-admin.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';
import { producerSide, type ProducerSide } from './support/producer.js';

describe('listings whose flow was lost', () => {
  let t: TestPipeline;
  let dir: string;
  let side: ProducerSide;
  let redis: Redis;
  let producer: ListingFlowProducer;
  let admin: QueueAdmin;
  const work = (id: string, photo: string): ListingWithPhotos => ({
    listing: buildListing({ id, productName: `Oak table ${id}`, category: 'Home & Garden', description: `solid oak table ${id}`, price: '£40', location: 'Leeds' }, [{ id: `${id}-p`, createTime: null }]),
    photos: [{ imageId: `${id}-p`, source: photo }],
  });
  const statuses = async () => (await t.db.query<{ id: string; status: string }>('SELECT id, status FROM listings ORDER BY id')).rows;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'requeue-lost-'));
    t = await createTestPipeline({ MODELS_DIR: path.join(dir, 'models'), IMAGE_CLEAN_SANDBOXED: '0' });
    side = producerSide(t);
    ({ redis, producer, admin } = side);
    const photo = path.join(dir, 'p.jpg');
    await writeFile(photo, await renderSyntheticPhoto({ seed: 3, palette: [[120, 80, 40], [240, 240, 235]], shape: 'square', width: 80, height: 60 }));
    // Two webhook listings stored and enqueued; then Redis loses their flows.
    await submitListings({ db: t.db, producer }, { process: [work('W1', photo), work('W2', photo)], skip: [], source: 'webhook', runId: null });
    await admin.obliterate();
    // A third arrives after the loss: its flow is waiting.
    await submitListings({ db: t.db, producer }, { process: [work('W3', photo)], skip: [], source: 'webhook', runId: null });
  });
  afterAll(async () => {
    await side?.close();
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('finds only the lost flows, respects the age threshold and --dry-run, and requeues each once', async () => {
    expect(await admin.outstanding()).toBe(3); // W3's flow: photo, text, infer
    // Nothing is older than 15 minutes yet.
    expect(await requeueLostListings({ db: t.db, producer, admin }, { olderThanMs: 15 * 60_000, maxQueuedJobs: 0 })).toEqual({ pending: 0, inFlight: 0, requeued: [] });

    const dry = await t.cli<{ pending: number; inFlight: number; requeued: string[]; dryRun: boolean }>(['queues', 'requeue-lost', '--older-than', '0.0001', '--dry-run']);
    expect(dry).toEqual({ pending: 3, inFlight: 1, requeued: ['W1', 'W2'], dryRun: true });
    expect(await admin.outstanding()).toBe(3);

    const done = await t.cli<{ requeued: string[] }>(['queues', 'requeue-lost', '--older-than', '0.0001']);
    expect(done.requeued).toEqual(['W1', 'W2']);
    expect(await admin.outstanding()).toBe(9);
    // Run again: every flow is in the queues now.
    expect(await requeueLostListings({ db: t.db, producer, admin }, { olderThanMs: 0, maxQueuedJobs: 0, now: Date.now() + 1000 })).toMatchObject({ pending: 3, inFlight: 3, requeued: [] });
    expect(await admin.outstanding()).toBe(9);

    // A flow that completes between the page read and the Redis check (staged: the check itself settles
    // the listing, as the infer stage would, and reports the flow gone) is not enqueued again.
    await t.db.query("UPDATE listings SET status = 'pending' WHERE id = 'W1'");
    await admin.obliterate();
    class CompletingMeanwhile extends ListingFlowProducer {
      override async inFlight(work: Parameters<ListingFlowProducer['inFlight']>[0]): Promise<boolean> {
        if (work.listingId === 'W1') await t.db.query("UPDATE listings SET status = 'processed' WHERE id = 'W1'");
        return super.inFlight(work);
      }
    }
    const racing = new CompletingMeanwhile(redis, t.config);
    try {
      const r = await requeueLostListings({ db: t.db, producer: racing, admin }, { olderThanMs: 0, maxQueuedJobs: 0, now: Date.now() + 1000 });
      expect(r).toEqual({ pending: 2, inFlight: 0, requeued: ['W2', 'W3'] });
    } finally {
      await racing.close();
    }
    await t.db.query("UPDATE listings SET status = 'pending' WHERE id = 'W1'");
    // Under a queue mark of 4 jobs (batches of half: one listing each), with nothing draining: the first
    // fits, the next waits for room; here the staged race above left W2 and W3 queued, so W1 waits.
    const waiting = requeueLostListings({ db: t.db, producer, admin }, { olderThanMs: 0, maxQueuedJobs: 4, now: Date.now() + 1000, pollMs: 20 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await admin.outstanding()).toBe(6);

    t.startPools();
    expect((await waiting).requeued).toEqual(['W1']);
    for (let i = 0; i < 600 && (await statuses()).some((s) => s.status === 'pending'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await statuses()).toEqual([{ id: 'W1', status: 'processed' }, { id: 'W2', status: 'processed' }, { id: 'W3', status: 'processed' }]);
    const { rows } = await t.db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM images GROUP BY 1');
    expect(rows).toEqual([{ status: 'cleaned', n: 3 }]);
  }, 120_000);
});
