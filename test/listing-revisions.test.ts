// Resubmitting listings through the real pools: content that returns to an earlier hash (A -> B -> A) is
// processed again although BullMQ still keeps A's finished jobs (job ids carry the content revision),
// unchanged content enqueues nothing, a pending listing whose flow already finished is requeued, and a
// listing skipped as a duplicate is processed once it is submitted without being one.
// The image-clean pool runs in process here (IMAGE_CLEAN_SANDBOXED=0); other suites cover the sandbox.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildListing } from '../src/domain/listing.js';
import { renderSyntheticPhoto } from '../src/images/index.js';
import { submitListings, type ListingWithPhotos } from '../src/pipeline/submit-listings.js';
import { enqueueInferOnly, ListingFlowProducer } from '../src/queues/flows.js';
import { QUEUES } from '../src/queues/registry.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Timed out waiting for ${what}.`);
}

describe('resubmitting listings', () => {
  let t: TestPipeline;
  let dir: string;
  let redis: Redis;
  let producer: ListingFlowProducer;
  let infer: Queue;
  const work: Record<'A' | 'B', ListingWithPhotos> = {} as never;

  const submit = (w: ListingWithPhotos) => submitListings({ db: t.db, producer }, { process: [w], skip: [], source: 'webhook', runId: null });
  const state = async () =>
    (await t.db.query<{ status: string; description_raw: string; revision: number; processed_at: Date | null }>(
      'SELECT status, description_raw, revision, processed_at FROM listings WHERE id = $1', ['L1'])).rows[0]!;
  const photoStatus = async () => (await t.db.query<{ id: string; status: string }>('SELECT id, status FROM images ORDER BY id')).rows;
  /** Waits until L1 is processed again, after `since`, with the given description. */
  const processedAfter = async (since: number, description: string) => {
    await waitFor(`L1 to be processed with "${description}"`, async () => {
      const s = await state();
      return s.status === 'processed' && s.description_raw === description && (s.processed_at?.getTime() ?? 0) > since;
    });
    return (await state()).processed_at!.getTime();
  };
  const inferJobs = async () => Object.values(await infer.getJobCounts()).reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'revisions-'));
    t = await createTestPipeline({ MODELS_DIR: path.join(dir, 'models'), IMAGE_CLEAN_SANDBOXED: '0' });
    t.startPools();
    redis = new Redis(t.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    producer = new ListingFlowProducer(redis, t.config);
    infer = new Queue(QUEUES.infer, { connection: redis, prefix: t.prefix });
    for (const [key, photoId, description] of [['A', 'p1', 'solid oak table'], ['B', 'p2', 'solid oak table, scratched']] as const) {
      const file = path.join(dir, `${photoId}.jpg`);
      await writeFile(file, await renderSyntheticPhoto({ seed: key.charCodeAt(0), palette: [[120, 80, 40], [240, 240, 235]], shape: 'square', width: 80, height: 60 }));
      const listing = buildListing(
        { id: 'L1', productName: 'Oak table', category: 'Home & Garden', description, price: '£40', location: 'Leeds' },
        [{ id: photoId, createTime: null }],
      );
      work[key] = { listing, photos: [{ imageId: photoId, source: file }] };
    }
  });
  afterAll(async () => {
    await infer?.close();
    await producer?.close();
    redis?.disconnect();
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reprocesses A -> B -> A, and unchanged content enqueues nothing', async () => {
    expect((await submit(work.A)).enqueued).toEqual(['L1']);
    let at = await processedAfter(0, 'solid oak table');
    expect(await photoStatus()).toEqual([{ id: 'p1', status: 'cleaned' }]);

    expect((await submit(work.B)).enqueued).toEqual(['L1']);
    at = await processedAfter(at, 'solid oak table, scratched');
    expect(await photoStatus()).toEqual([{ id: 'p2', status: 'cleaned' }]);

    // Back to A: A's finished jobs are still kept, yet the listing and its photo are processed again.
    expect((await submit(work.A)).enqueued).toEqual(['L1']);
    at = await processedAfter(at, 'solid oak table');
    expect(await photoStatus()).toEqual([{ id: 'p1', status: 'cleaned' }]);
    expect((await state()).revision).toBe(2);

    const jobs = await inferJobs();
    const again = await submit(work.A);
    expect(again).toMatchObject({ enqueued: [], unchanged: ['L1'] });
    expect(await inferJobs()).toBe(jobs);
    expect((await state()).processed_at!.getTime()).toBe(at);
  }, 120_000);

  it('requeues a pending listing whose flow finished without settling it', async () => {
    const before = (await state()).processed_at!.getTime();
    // As if the flow's last status write had been lost (a job that stalled too often fails unrun).
    await t.db.query(`UPDATE listings SET status = 'pending', processed_at = NULL WHERE id = 'L1'`);
    expect((await submit(work.A)).enqueued).toEqual(['L1']);
    await processedAfter(before, 'solid oak table');
  }, 120_000);

  it('processes a listing skipped as a duplicate once it is submitted without being one', async () => {
    const asDuplicate = () =>
      submitListings({ db: t.db, producer }, { process: [], skip: [{ ...work.B, reason: 'Duplicate of listing L0' }], source: 'backfill', runId: null });
    expect(await asDuplicate()).toMatchObject({ enqueued: [], skipped: ['L1'] });
    expect((await state()).status).toBe('skipped');
    expect(await photoStatus()).toEqual([{ id: 'p2', status: 'skipped' }]);
    // Still a duplicate on the next run: still skipped, nothing enqueued.
    expect(await asDuplicate()).toMatchObject({ enqueued: [], skipped: ['L1'] });
    expect((await state()).status).toBe('skipped');

    // Same content, no longer a duplicate (its original was edited or dropped): processed, photo included.
    const before = Date.now();
    expect((await submit(work.B)).enqueued).toEqual(['L1']);
    await processedAfter(before, 'solid oak table, scratched');
    expect(await photoStatus()).toEqual([{ id: 'p2', status: 'cleaned' }]);
  }, 120_000);

  it('lets `classify` ask again for a prediction whose earlier classify job failed for good', async () => {
    const { rows } = await t.db.query<{ content_hash: string }>(`SELECT content_hash FROM listings WHERE id = 'L1'`);
    const items = [{ listingId: 'L1', listingHash: rows[0]!.content_hash }];
    // This infer pool has no classifier, so a job asking for one fails for good once its retries are spent.
    await enqueueInferOnly(redis, t.config, items, 'clf@missing', null);
    let failed: { id: string; finishedOn: number } | undefined;
    await waitFor('the classify job to fail for good', async () => {
      const [job] = await infer.getFailed();
      if (job?.id && job.finishedOn) failed = { id: job.id, finishedOn: job.finishedOn };
      return failed !== undefined;
    });
    // The next `classify` for the same version (say, once the pool runs it) must really enqueue it again.
    await enqueueInferOnly(redis, t.config, items, 'clf@missing', null);
    const again = await infer.getJob(failed!.id);
    expect(again?.timestamp).toBeGreaterThan(failed!.finishedOn);
  }, 120_000);
});
