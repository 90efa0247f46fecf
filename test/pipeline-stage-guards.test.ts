// The stages against the real Postgres, called directly: an infer job that fails for good records why on
// its listing, and jobs for content that has since changed write nothing (the checks sit in the same
// SQL statement as the write, so an edit landing mid-job is caught too).
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeListingsAndRevisions } from '../src/db/submit-repo.js';
import { getListing, markProcessed, type ListingInput } from '../src/db/listings-repo.js';
import { imagesForListing } from '../src/db/images-repo.js';
import { renderSyntheticPhoto } from '../src/images/index.js';
import { runImageClean } from '../src/pipeline/image-clean-stage.js';
import { runInfer } from '../src/pipeline/infer-stage.js';
import type { ImageEmbedder, ListingClassifier, TextEmbedder } from '../src/pipeline/model-ports.js';
import { runTextEmbed } from '../src/pipeline/text-embed-stage.js';
import { createLogger } from '../src/logging.js';
import { createMetrics } from '../src/metrics/registry.js';
import { recordFinalFailure } from '../src/pipeline/final-failure.js';
import { createPoolWorker, type StageHandler } from '../src/queues/pool-worker.js';
import { QUEUES } from '../src/queues/registry.js';
import { createTestSchema, type TestSchema } from './support/db.js';
import { deletePrefixKeys } from './support/redis-keys.js';

const OLD = 'a'.repeat(64);
const NEW = 'b'.repeat(64);

const listing = (id: string, text = 'solid oak dining table, seats six'): ListingInput => ({
  id, nameRaw: 'Oak table', name: 'Oak table', descriptionRaw: text, modelText: text, price: 40, priceRaw: '£40',
  location: 'Leeds', categoryPath: null, label: null, createTime: null, imageCount: 1, contentHash: OLD, source: 'test',
});

/** A classifier whose inputs (embeddings of txt@1/img@1) are never stored, so classification cannot succeed. */
const classifier: ListingClassifier = {
  version: 'clf@1', textVersion: 'txt@1', imageVersion: 'img@1', classes: ['A', 'B'],
  classify: () => Promise.reject(new Error('classify must not be reached without embeddings')),
  close: () => Promise.resolve(),
};

describe('pipeline stages: final infer failure and stale writes', () => {
  let t: TestSchema;
  let photo: Buffer;
  const editListing = (id: string) => t.db.query('UPDATE listings SET content_hash = $2 WHERE id = $1', [id, NEW]);
  const count = async (sql: string, id: string) => (await t.db.query<{ n: number }>(sql, [id])).rows[0]!.n;

  beforeAll(async () => {
    t = await createTestSchema({ prefix: 'guards' });
    await storeListingsAndRevisions(
      t.db,
      ['inf', 'txt', 'img-stale', 'img-race', 'img-fail'].map((id) => ({ listing: listing(id), photos: [{ id: `${id}-0`, listingId: id, position: 0, sourceUri: `/nowhere/${id}.jpg` }] })),
      null,
    );
    photo = await renderSyntheticPhoto({ seed: 3, palette: [[200, 30, 30], [240, 240, 235]], shape: 'circle', width: 64, height: 48 });
  });
  afterAll(() => t?.drop());

  it('marks the listing failed, with the reason, when its infer job fails on the last attempt only', async () => {
    const deps = { db: t.db, classifier };
    const payload = { v: 1, listingId: 'inf', listingHash: OLD, runId: null, receivedAt: Date.now() };
    await expect(runInfer(deps, payload, { attemptsMade: 0, maxAttempts: 2 })).rejects.toThrow(/no txt@1 text embedding/);
    expect((await getListing(t.db, 'inf'))?.status).toBe('pending');

    await expect(runInfer(deps, payload, { attemptsMade: 1, maxAttempts: 2 })).rejects.toThrow(/no txt@1 text embedding/);
    const failed = await getListing(t.db, 'inf');
    expect(failed?.status).toBe('failed');
    expect(failed?.statusReason).toMatch(/^Classification failed after 2 attempts: Listing inf has no txt@1 text embedding/);

    // A `classify` job is for an already processed listing: failing it must not unsettle the listing.
    await markProcessed(t.db, 'inf', OLD);
    await expect(runInfer(deps, { ...payload, modelVersion: 'clf@1' }, { attemptsMade: 1, maxAttempts: 2 })).rejects.toThrow();
    expect((await getListing(t.db, 'inf'))?.status).toBe('processed');
  });

  it('skips a text embedding whose listing was edited while it was being computed', async () => {
    const embedder: TextEmbedder = {
      version: 'txt@1',
      embed: async () => {
        await editListing('txt');
        return Float32Array.from([0.1, 0.2, 0.3]);
      },
      close: () => Promise.resolve(),
    };
    const result = await runTextEmbed({ db: t.db, embedder }, { v: 1, listingId: 'txt', listingHash: OLD, runId: null });
    expect(result).toEqual({ outcome: 'stale' });
    expect(await count('SELECT count(*)::int AS n FROM text_embeddings WHERE listing_id = $1', 'txt')).toBe(0);

    // The same job for the content now stored writes.
    const current = await runTextEmbed({ db: t.db, embedder: { ...embedder, embed: () => Promise.resolve(Float32Array.from([1, 2])) } },
      { v: 1, listingId: 'txt', listingHash: NEW, runId: null });
    expect(current).toEqual({ outcome: 'embedded', version: 'txt@1' });
    expect(await count('SELECT count(*)::int AS n FROM text_embeddings WHERE listing_id = $1', 'txt')).toBe(1);
  });

  it('skips a photo whose listing moved on, before the work and when the edit lands mid-job', async () => {
    const embedder: ImageEmbedder = { version: 'img@1', provider: 'cpu', embed: () => Promise.resolve(Float32Array.from([1, 2, 3])), close: () => Promise.resolve() };
    const payload = (id: string) => ({ v: 1, listingId: id, imageId: `${id}-0`, source: `/nowhere/${id}.jpg`, listingHash: OLD, runId: null });
    const final = { attemptsMade: 3, maxAttempts: 4 };

    await editListing('img-stale');
    let reads = 0;
    const stale = await runImageClean({ db: t.db, config: t.config, embedder, readSource: () => (reads++, Promise.resolve(photo)) }, payload('img-stale'), final);
    expect(stale).toEqual({ outcome: 'stale' });
    expect(reads).toBe(0);

    const race = await runImageClean(
      { db: t.db, config: t.config, embedder, readSource: async () => (await editListing('img-race'), photo) },
      payload('img-race'),
      final,
    );
    expect(race).toEqual({ outcome: 'stale' });
    // A bad photo of edited content fails its job, but records nothing: the listing's newer jobs own the photo.
    await expect(runImageClean(
      { db: t.db, config: t.config, embedder, readSource: async () => (await editListing('img-fail'), Buffer.from('not a photo')) },
      payload('img-fail'),
      final,
    )).rejects.toThrow();
    for (const id of ['img-stale', 'img-race', 'img-fail']) {
      expect((await imagesForListing(t.db, id)).map((i) => i.status)).toEqual(['pending']);
      expect(await count('SELECT count(*)::int AS n FROM image_embeddings WHERE image_id = $1', `${id}-0`)).toBe(0);
    }
  });
});

describe('pipeline stages: a job BullMQ gives up on after it stalled too often', () => {
  let t: TestSchema;
  let redis: Redis;
  const prefix = `t${randomBytes(5).toString('hex')}`;

  beforeAll(async () => {
    t = await createTestSchema({ prefix: 'stall' });
    await storeListingsAndRevisions(
      t.db,
      ['stall-img', 'stall-inf'].map((id) => ({ listing: listing(id), photos: [{ id: `${id}-0`, listingId: id, position: 0, sourceUri: `/nowhere/${id}.jpg` }] })),
      null,
    );
    redis = new Redis(t.config.REDIS_URL, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    redis?.disconnect();
    await deletePrefixKeys(prefix);
    await t?.drop();
  });

  /** A worker takes the job and dies with it (its lock lapses, unrenewed), twice: one stall more than BullMQ's limit of 1. */
  async function stallTwice(queue: string): Promise<void> {
    const dead = new Worker(queue, null, { connection: redis, prefix, autorun: false, lockDuration: 200, stalledInterval: 100 });
    const check = () => (dead as unknown as { moveStalledJobsToWait(): Promise<void> }).moveStalledJobsToWait();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      for (let i = 0; i < 2; i++) {
        expect(await dead.getNextJob(`dead-${i}`, { block: false })).toBeDefined();
        await sleep(150);
        await check(); // marks the active job as possibly stalled
        await sleep(350);
        await check(); // its lock is gone: back to waiting, one stall counted
      }
    } finally {
      await dead.close();
    }
  }

  it('records the photo and the listing as failed, with why, although their handlers never ran', async () => {
    const config = { ...t.config, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' as const };
    const metrics = createMetrics('stall-test');
    const jobs: [string, unknown][] = [
      [QUEUES.imageClean, { v: 1, listingId: 'stall-img', imageId: 'stall-img-0', source: '/nowhere/stall-img.jpg', listingHash: OLD, runId: null }],
      [QUEUES.infer, { v: 1, listingId: 'stall-inf', listingHash: OLD, runId: null, receivedAt: Date.now() }],
    ];
    for (const [queue, data] of jobs) {
      const q = new Queue(queue, { connection: redis, prefix });
      await q.add('job', data, { attempts: 4, jobId: 'j1' });
      await stallTwice(queue);
      let ran = 0;
      const handler: StageHandler = () => (ran++, Promise.resolve({ outcome: 'never' }));
      const writes: Promise<boolean>[] = [];
      const worker = createPoolWorker({
        queue, concurrency: 1, handler, connection: redis, config, metrics, log: createLogger(config, 'stall-test'),
        onFinalFailure: (reason, d, message) => writes.push(recordFinalFailure(t.db, queue, d, reason, message)),
      });
      void worker.run();
      try {
        const end = Date.now() + 10_000;
        while ((await q.getJobState('j1')) !== 'failed' && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
        expect((await q.getJob('j1'))?.failedReason).toMatch(/stalled more than allowable limit/);
        expect(ran).toBe(0);
        expect(await Promise.all(writes)).toEqual([true]);
      } finally {
        await worker.close();
        await q.obliterate({ force: true });
        await q.close();
      }
    }
    const [photo] = await imagesForListing(t.db, 'stall-img');
    expect(photo).toMatchObject({ status: 'failed', failureCode: 'stalled' });
    expect(photo!.failureReason).toMatch(/stopped mid-job more than once/);
    const inf = await getListing(t.db, 'stall-inf');
    expect(inf?.status).toBe('failed');
    expect(inf?.statusReason).toMatch(/^Classification did not finish\. .*stopped mid-job more than once/);
    // Counted as stalled, not as bad input: the payload was never looked at.
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/jobs_failed_total\{queue="image-clean",reason="stalled",process="stall-test"\} 1/);
    expect(text).toMatch(/jobs_failed_total\{queue="infer",reason="stalled",process="stall-test"\} 1/);

    // A recorded outcome is never overwritten: the handler's own failure (with its precise code) stands.
    expect(await recordFinalFailure(t.db, QUEUES.imageClean, jobs[0]![1], 'transient', 'x')).toBe(false);
  });
});
