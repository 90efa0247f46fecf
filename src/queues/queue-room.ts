// Backpressure for producers of many flows (the backfill, requeue-lost): before adding a batch of jobs,
// wait while the pool queues already hold so many unfinished jobs that the batch would pass the limit.
// Redis runs with noeviction (DESIGN.md section 5), so a producer that enqueues without bound fills it and
// every producer, the listing-created webhook included, then has its writes refused.
import type { QueueAdmin } from './queue-admin.js';

export interface RoomOptions {
  /** Unfinished jobs in the pool queues the batch must fit under; 0 means no limit. */
  maxQueuedJobs: number;
  pollMs?: number;
  /** Called on every poll while waiting. */
  onWait?: () => void;
  /**
   * Called on every poll with a progress measure (here: minus the unfinished jobs), so that a caller's
   * no-worker watch can warn when nothing drains the queues.
   */
  watch?: (progress: number) => Promise<void>;
}

/**
 * Waits until the queues can take `jobs` more without passing the limit, or are empty (a batch larger
 * than the limit on its own still goes, alone, so the producer cannot stall on it). Callers keep their
 * batches to at most half the limit (batchJobsLimit), so that other producers' jobs cannot keep the
 * queues from ever having room.
 */
export async function waitForRoom(admin: Pick<QueueAdmin, 'outstanding'>, jobs: number, opts: RoomOptions): Promise<void> {
  if (opts.maxQueuedJobs <= 0) return;
  for (;;) {
    const queued = await admin.outstanding();
    if (queued === 0 || queued + jobs <= opts.maxQueuedJobs) return;
    opts.onWait?.();
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
    await opts.watch?.(-queued);
  }
}

/** The most jobs one batch should add under this limit: half of it (no limit: Infinity). */
export function batchJobsLimit(maxQueuedJobs: number): number {
  return maxQueuedJobs > 0 ? Math.max(1, Math.floor(maxQueuedJobs / 2)) : Number.POSITIVE_INFINITY;
}

/**
 * Splits items into batches of at most `maxItems` items and (when a batch has more than one item) at
 * most `maxJobs` jobs, in order; an item with more jobs than that on its own is a batch by itself.
 */
export function batchesUnder<T>(items: readonly T[], maxItems: number, maxJobs: number, jobsOf: (item: T) => number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let jobs = 0;
  for (const item of items) {
    const j = jobsOf(item);
    if (current.length > 0 && (current.length >= maxItems || jobs + j > maxJobs)) {
      batches.push(current);
      current = [];
      jobs = 0;
    }
    current.push(item);
    jobs += j;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
