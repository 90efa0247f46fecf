// A catalogue-sized submit with backpressure. Enqueuing a whole catalogue at once puts every job of
// it in Redis together; at hundreds of thousands of listings that is gigabytes, and Redis runs with
// noeviction (DESIGN.md section 5), so a full Redis then refuses writes from every producer, the
// listing-created webhook included. Instead listings go in chunks, and before each chunk the producer
// waits until the chunk fits under `maxQueuedJobs` unfinished jobs (src/queues/queue-room.ts).
import type { Db } from '../db/pool.js';
import { flowJobCount, type ListingFlowProducer } from '../queues/flows.js';
import type { QueueAdmin } from '../queues/queue-admin.js';
import { noWorkerWatch } from '../queues/no-worker-warning.js';
import { batchesUnder, batchJobsLimit, waitForRoom } from '../queues/queue-room.js';
import { submitListings, type ListingWithPhotos, type SkippedListing, type SubmitResult } from './submit-listings.js';

/**
 * Listings per submit: one transaction and one burst of flows each. Small enough that a chunk is
 * seconds of work for the pools, large enough that the per-statement round trips stay few.
 */
export const SUBMIT_CHUNK_LISTINGS = 1000;

export interface ChunkedSubmitDeps {
  db: Db;
  producer: ListingFlowProducer;
  admin: Pick<QueueAdmin, 'outstanding' | 'queuesWithoutWorkers'>;
  warn: (message: string) => void;
}

export interface ChunkedSubmitOptions {
  source: string;
  runId: number | null;
  /** Unfinished jobs in the pool queues above which the next chunk waits; 0 never waits. */
  maxQueuedJobs: number;
  chunkListings?: number;
  pollMs?: number;
  /** Called on every poll while waiting for room, with what was submitted so far. */
  onWait?: (sofar: ChunkedSubmitResult) => void;
}

export interface ChunkedSubmitResult extends SubmitResult {
  /** Photos of the enqueued listings. */
  enqueuedPhotos: number;
}

/**
 * How many photos the enqueued listings have. A set, not `enqueued.includes` per listing: that was
 * quadratic, about 20 s of blocked event loop for 20k listings and minutes for 100k, long enough for the
 * nightly job (run in the scheduler process) to lose its lock and be taken as stalled.
 */
export function photosOf(process: readonly ListingWithPhotos[], enqueued: readonly string[]): number {
  const ids = new Set(enqueued);
  let n = 0;
  for (const w of process) if (ids.has(w.listing.id)) n += w.photos.length;
  return n;
}

/** The jobs these listings' flows add to the queues. */
export function jobsOfFlows(work: readonly ListingWithPhotos[]): number {
  let n = 0;
  for (const w of work) n += flowJobCount(w.photos.length);
  return n;
}

/** Listings to process and duplicates to store as skipped: a whole catalogue, or one piece of one. */
export interface SubmitWork {
  process: ListingWithPhotos[];
  skip: SkippedListing[];
}

function isAsyncIterable<T>(value: unknown): value is AsyncIterable<T> {
  return typeof (value as AsyncIterable<T>)[Symbol.asyncIterator] === 'function';
}

/**
 * submitListings over `process` in chunks of up to `chunkListings` listings and half the mark's jobs
 * (so that room for one always comes, even while other producers add jobs), each chunk with its share of
 * the skipped duplicates; waits for room in the queues before each chunk. A chunk is atomic in Postgres
 * as a whole submit is, so stopping part-way leaves stored listings whose flows are enqueued and
 * listings not stored at all, and the same backfill run again picks up exactly the rest.
 *
 * `work` may be a stream of pieces (the backfill reads its catalogue that way): each piece is chunked as
 * it arrives, so only one piece is in memory at a time.
 */
export async function submitInChunks(
  deps: ChunkedSubmitDeps,
  work: SubmitWork | AsyncIterable<SubmitWork>,
  opts: ChunkedSubmitOptions,
): Promise<ChunkedSubmitResult> {
  const size = opts.chunkListings ?? SUBMIT_CHUNK_LISTINGS;
  const total: ChunkedSubmitResult = { enqueued: [], unchanged: [], skipped: [], enqueuedPhotos: 0 };
  // One watch for the whole submit: "no worker" is said once, not once per chunk.
  const watch = noWorkerWatch(deps.admin, deps.warn);
  const pieces: AsyncIterable<SubmitWork> | SubmitWork[] = isAsyncIterable<SubmitWork>(work) ? work : [work];
  for await (const piece of pieces) {
    const chunks = batchesUnder(piece.process, size, batchJobsLimit(opts.maxQueuedJobs), (w) => flowJobCount(w.photos.length));
    const rounds = Math.max(1, chunks.length, Math.ceil(piece.skip.length / size));
    for (let k = 0; k < rounds; k++) {
      const chunk = chunks[k] ?? [];
      const skip = piece.skip.slice(k * size, (k + 1) * size);
      if (chunk.length === 0 && skip.length === 0) continue;
      await waitForRoom(deps.admin, jobsOfFlows(chunk), {
        maxQueuedJobs: opts.maxQueuedJobs,
        pollMs: opts.pollMs,
        watch,
        onWait: () => opts.onWait?.(total),
      });
      const result = await submitListings({ db: deps.db, producer: deps.producer }, { process: chunk, skip, source: opts.source, runId: opts.runId });
      total.enqueued.push(...result.enqueued);
      total.unchanged.push(...result.unchanged);
      total.skipped.push(...result.skipped);
      total.enqueuedPhotos += photosOf(chunk, result.enqueued);
    }
  }
  return total;
}
