// Recovering listings whose flow was lost. Redis holds the only record that a stored listing still has
// work queued; when that record goes (Redis restarted without AOF, `queues` obliterated, a key evicted
// under a wrong maxmemory-policy) the listing stays pending for good. A webhook listing has no catalogue
// backfill to resubmit it. This finds listings pending for longer than a flow normally takes whose flow
// is not in Redis (or finished without settling them) and enqueues it again, with the same job ids, so
// a flow that is merely slow is never doubled.
import type { Db } from '../db/pool.js';
import { pendingListingsSince } from '../db/pending-listings-repo.js';
import type { ListingFlowProducer, ListingWork } from '../queues/flows.js';

const PAGE = 500;

/** A listing pending this long after it was stored, with no flow in Redis, has lost its flow. */
export const LOST_FLOW_AFTER_MS = 15 * 60_000;

export interface RequeueLostResult {
  /** Listings pending for longer than the threshold. */
  pending: number;
  /** ... of which a flow is still queued or running: left alone. */
  inFlight: number;
  /** ... of which the flow was missing or finished: enqueued again (or, with dryRun, would be). */
  requeued: string[];
}

export async function requeueLostListings(
  deps: { db: Db; producer: ListingFlowProducer },
  opts: { olderThanMs: number; dryRun?: boolean; now?: number },
): Promise<RequeueLostResult> {
  const before = new Date((opts.now ?? Date.now()) - opts.olderThanMs);
  const result: RequeueLostResult = { pending: 0, inFlight: 0, requeued: [] };
  let afterId = '';
  for (;;) {
    const page = await pendingListingsSince(deps.db, { before, afterId, limit: PAGE });
    if (page.length === 0) return result;
    afterId = page[page.length - 1]!.id;
    result.pending += page.length;
    const works: ListingWork[] = page.map((l) => ({
      listingId: l.id,
      listingHash: l.contentHash,
      revision: l.revision,
      requeue: true,
      images: l.photos,
      runId: l.lastRunId,
      receivedAt: Date.now(),
    }));
    const lost: ListingWork[] = [];
    for (const w of works) {
      if (await deps.producer.inFlight(w)) result.inFlight += 1;
      else lost.push(w);
    }
    if (!opts.dryRun && lost.length > 0) await deps.producer.enqueue(lost);
    result.requeued.push(...lost.map((w) => w.listingId));
  }
}
