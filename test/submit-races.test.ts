// Two producers storing one listing at once (a webhook edit while the nightly backfill resends the old
// content; two API replicas): the second waits for the first and computes its outcome from what the first
// wrote, so the listing ends with the content stored last, that content's photos, and a flow for it.
// Staged with a third connection holding the listing's row. Real Postgres and Redis, no pools.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../src/db/pool.js';
import { buildListing } from '../src/domain/listing.js';
import { submitListings, type ListingWithPhotos } from '../src/pipeline/submit-listings.js';
import type { ListingFlowProducer } from '../src/queues/flows.js';
import type { QueueAdmin } from '../src/queues/queue-admin.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';
import { producerSide, type ProducerSide } from './support/producer.js';

describe('concurrent producers of one listing', () => {
  let t: TestPipeline;
  let other: Db;
  let side: ProducerSide;
  let producer: ListingFlowProducer;
  let admin: QueueAdmin;
  const version = (description: string, photo: string): ListingWithPhotos => ({
    listing: buildListing({ id: 'R1', productName: 'Oak table', category: 'Home & Garden', description, price: '£40', location: 'Leeds' }, [{ id: photo, createTime: null }]),
    photos: [{ imageId: photo, source: `/photos/${photo}.jpg` }],
  });
  const submit = (db: Db, w: ListingWithPhotos) => submitListings({ db, producer }, { process: [w], skip: [], source: 'webhook', runId: null });

  beforeAll(async () => {
    t = await createTestPipeline();
    other = createDb({ ...t.config, DB_POOL_MAX: 2 }, { applicationName: 'second-producer' });
    side = producerSide(t);
    ({ producer, admin } = side);
  });
  afterAll(async () => {
    await side?.close();
    await other?.close();
    await t?.close();
  });

  it('resending the old content while an edit is being stored reprocesses the old content with its photo', async () => {
    const original = version('solid oak', 'photo-o');
    const edit = version('solid oak, one scratch', 'photo-a');
    expect((await submit(t.db, original)).enqueued).toEqual(['R1']);
    await t.db.query("UPDATE listings SET status = 'processed' WHERE id = 'R1'");
    await admin.obliterate(); // the first flow is done with

    const holder = await t.db.pool.connect();
    let results: Awaited<ReturnType<typeof submit>>[];
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT 1 FROM listings WHERE id = 'R1' FOR UPDATE");
      const first = submit(t.db, edit); // waits for the held row
      await new Promise((r) => setTimeout(r, 300));
      const second = submit(other, original); // the old content again, meanwhile
      await new Promise((r) => setTimeout(r, 300));
      await holder.query('COMMIT');
      results = await Promise.all([first, second]);
    } finally {
      holder.release();
    }
    // Both changed the listing, in order: each gets a flow (the edit's ends as stale when it runs).
    expect(results.map((r) => r.enqueued)).toEqual([['R1'], ['R1']]);
    const { rows } = await t.db.query<{ content_hash: string; status: string; revision: number }>("SELECT content_hash, status, revision FROM listings WHERE id = 'R1'");
    expect(rows[0]).toEqual({ content_hash: original.listing.contentHash, status: 'pending', revision: 2 });
    const photos = await t.db.query<{ id: string }>("SELECT id FROM images WHERE listing_id = 'R1' ORDER BY id");
    expect(photos.rows.map((r) => r.id)).toEqual(['photo-o']);
    // The second flow (revision 2) is in the queues: photo, text, infer, as is the edit's (revision 1).
    expect(await admin.outstanding()).toBe(6);
  }, 30_000);
});
