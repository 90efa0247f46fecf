// Re-enqueues stored listings' flows as a producer would after a change (used by model-path tests).
import { Redis } from 'ioredis';
import { imagesForListing } from '../../src/db/images-repo.js';
import { getListing } from '../../src/db/listings-repo.js';
import { ListingFlowProducer } from '../../src/queues/flows.js';
import type { TestPipeline } from './pipeline.js';

export async function enqueueListingsAgain(t: TestPipeline, ids: string[]): Promise<void> {
  const redis = new Redis(t.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 3 });
  const producer = new ListingFlowProducer(redis, t.config);
  try {
    for (const id of ids) {
      const l = await getListing(t.db, id);
      if (!l) throw new Error(`listing ${id} not found`);
      const images = await imagesForListing(t.db, id);
      await producer.enqueue([
        { listingId: id, listingHash: l.contentHash, images: images.map((i) => ({ imageId: i.id, source: i.sourceUri })), runId: null, receivedAt: Date.now() },
      ]);
    }
  } finally {
    await producer.close();
    redis.disconnect();
  }
}
