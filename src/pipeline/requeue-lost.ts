// Recovering listings whose flow was lost. Redis holds the only record that a stored listing still has
// work queued; when that record goes (Redis restarted without AOF, `queues` obliterated, a key evicted
// under a wrong maxmemory-policy) the listing stays pending for good. A webhook listing has no catalogue
// backfill to resubmit it. This finds listings pending for longer than a flow normally takes whose flow
// is not in Redis (or finished without settling them) and enqueues it again, with the same job ids, so
// a flow that is merely slow is never doubled.
import type { Db } from '../db/pool.js';
import { pendingListingsSince, STALE_PENDING_MS, stillPending } from '../db/pending-listings-repo.js';
import { flowJobCount, type ListingFlowProducer, type ListingWork } from '../queues/flows.js';
import type { QueueAdmin } from '../queues/queue-admin.js';
import { noWorkerWatch } from '../queues/no-worker-warning.js';
import { batchesUnder, batchJobsLimit, waitForRoom } from '../queues/queue-room.js';

const PAGE = 500;

/** A listing pending this long after it was stored, with no flow in Redis, has lost its flow. */
export const LOST_FLOW_AFTER_MS = STALE_PENDING_MS;

export interface RequeueLostResult {
  /** Listings pending for longer than the threshold. */
  pending: number;
  /** ... of which a flow is still queued or running: left alone. */
  inFlight: number;
  /** ... of which the flow was missing or finished: enqueued again (or, with dryRun, would be). */
  requeued: string[];
}

export interface RequeueLostDeps {
  db: Db;
  producer: ListingFlowProducer;
  admin: Pick<QueueAdmin, 'outstanding' | 'queuesWithoutWorkers'>;
  /** Said once when waiting for room makes no progress because no worker drains the queues. */
  warn?: (message: string) => void;
}

export async function requeueLostListings(
  deps: RequeueLostDeps,
  opts: { olderThanMs: number; maxQueuedJobs: number; dryRun?: boolean; now?: number; pollMs?: number },
): Promise<RequeueLostResult> {
  const before = new Date((opts.now ?? Date.now()) - opts.olderThanMs);
  const result: RequeueLostResult = { pending: 0, inFlight: 0, requeued: [] };
  const maxJobs = batchJobsLimit(opts.maxQueuedJobs);
  const watch = noWorkerWatch(deps.admin, deps.warn ?? (() => {}));
  const jobsOf = (w: ListingWork) => flowJobCount(w.images.length);
  let afterId = '';
  for (;;) {
    const page = await pendingListingsSince(deps.db, { before, afterId, limit: PAGE });
    if (page.length === 0) return result;
    afterId = page[page.length - 1]!.id;
    const works: ListingWork[] = page.map((l) => ({
      listingId: l.id,
      listingHash: l.contentHash,
      revision: l.revision,
      requeue: true,
      images: l.photos,
      runId: l.lastRunId,
      receivedAt: Date.now(),
    }));
    // In batches that fit under the backfill's queue mark, as the backfill's chunks do. Each batch is
    // checked only once it has room: waiting can take minutes, in which a listing may be settled.
    for (const batch of batchesUnder(works, PAGE, maxJobs, jobsOf)) {
      if (!opts.dryRun) {
        await waitForRoom(deps.admin, batch.reduce((n, w) => n + jobsOf(w), 0), { maxQueuedJobs: opts.maxQueuedJobs, pollMs: opts.pollMs, watch });
      }
      const candidates: ListingWork[] = [];
      for (const w of batch) {
        if (await deps.producer.inFlight(w)) result.inFlight += 1;
        else candidates.push(w);
      }
      // Read again after Redis: a flow that completed between the page read and the Redis check has
      // settled its listing by then (the infer stage writes the status before its job completes).
      const still = await stillPending(deps.db, candidates.map((w) => ({ id: w.listingId, contentHash: w.listingHash, revision: w.revision ?? 0 })));
      const lost = candidates.filter((w) => still.has(w.listingId));
      result.pending += batch.length - (candidates.length - lost.length);
      result.requeued.push(...lost.map((w) => w.listingId));
      if (!opts.dryRun && lost.length > 0) await deps.producer.enqueue(lost);
    }
  }
}
