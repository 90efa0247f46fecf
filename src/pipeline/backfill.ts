// The catalogue backfill: read and clean a catalogue a chunk at a time, store it, enqueue only new or
// changed listings, then (optionally) wait for the pools to finish while reporting progress, and record
// the run. The catalogue is streamed (CatalogueReader), so its size is not bounded by the heap.
import type { Db } from '../db/pool.js';
import { countImagesByStatus } from '../db/images-repo.js';
import { countByStatus } from '../db/listings-repo.js';
import { finishRun, failRun, recordRowRejects, startRun } from '../db/runs-repo.js';
import { runFailureReasons, runProgress, type ReasonCount, type RunProgress } from '../db/run-progress-repo.js';
import { CatalogueReader, type CatalogueChunk } from '../catalogue/catalogue-reader.js';
import type { Logger } from '../logging.js';
import type { ListingFlowProducer } from '../queues/flows.js';
import type { QueueAdmin } from '../queues/queue-admin.js';
import { noWorkerWatch } from '../queues/no-worker-warning.js';
import { SUBMIT_CHUNK_LISTINGS, submitInChunks, type SubmitWork } from './submit-in-chunks.js';

export interface BackfillOptions {
  productsPath: string;
  imagesPath: string;
  imageDir: string;
  limit?: number;
  kind?: string;
  /** Wait for the pools to finish the run's work (default true). */
  wait?: boolean;
  /**
   * BACKFILL_MAX_QUEUED_JOBS: unfinished jobs in the pool queues above which the next chunk of the
   * catalogue waits before it is enqueued (0 or absent: never wait; the catalogue still goes in chunks).
   */
  maxQueuedJobs?: number;
  pollMs?: number;
  onProgress?: (p: BackfillProgress) => void;
}

export interface BackfillProgress extends RunProgress {
  runId: number;
  /** Listings and photos this run has to process. */
  totalListings: number;
  totalImages: number;
  elapsedSeconds: number;
}

export interface BackfillSummary {
  runId: number;
  catalogue: { listings: number; duplicates: number; rejectedRows: number; orphanImages: number; images: number };
  /** New or changed listings enqueued by this run; 0 on a rerun of an unchanged catalogue. */
  newWork: number;
  unchanged: number;
  /** Outcomes of the listings and photos this run processed. */
  outcome: RunProgress;
  /** Every listing and photo in the database by status, after the run. */
  totals: { listings: Record<string, number>; images: Record<string, number> };
  topFailureReasons: { images: ReasonCount[]; listings: ReasonCount[] };
  elapsedSeconds: number;
  listingsPerSecond: number;
  photosPerSecond: number;
  /** Set when waiting stopped with work unfinished (e.g. no workers consuming). */
  incomplete?: string;
}

export interface BackfillDeps {
  db: Db;
  producer: ListingFlowProducer;
  admin: QueueAdmin;
  log: Logger;
}

/** One chunk of a catalogue as submit work: listings to process, and duplicates stored as skipped. */
export function chunkWork(chunk: CatalogueChunk, reader: Pick<CatalogueReader, 'photosOf'>): SubmitWork {
  const photos = (listingId: string) => reader.photosOf(listingId).map((img) => ({ imageId: img.id, source: img.path }));
  return {
    process: chunk.listings.map((listing) => ({ listing, photos: photos(listing.id) })),
    // A duplicate's photos are orphans to the catalogue; they are stored (as skipped) with the duplicate.
    skip: chunk.duplicates.map((d) => ({
      listing: d.listing,
      photos: photos(d.id),
      reason: `Duplicate of listing ${d.duplicateOf} (same name, location, description, time and price); the first occurrence is kept.`,
    })),
  };
}

/** The catalogue as a stream of submit work, `size` listings a piece. */
export async function* catalogueWork(reader: CatalogueReader, size = SUBMIT_CHUNK_LISTINGS): AsyncGenerator<SubmitWork> {
  for await (const chunk of reader.chunks(size)) yield chunkWork(chunk, reader);
}

export async function runBackfill(deps: BackfillDeps, opts: BackfillOptions): Promise<BackfillSummary> {
  const started = Date.now();
  const reader = await CatalogueReader.open(opts);
  const run = await startRun(deps.db, {
    kind: opts.kind ?? 'backfill',
    source: opts.productsPath,
    options: { productsPath: opts.productsPath, imagesPath: opts.imagesPath, imageDir: opts.imageDir, limit: opts.limit ?? null },
  });
  // Rejected rows are recorded as the read finds them (Images.csv's at once, Products.csv's with each
  // chunk), so that `runs show` lists them for a run still waiting on the pools, or one that failed.
  let recorded = 0;
  const recordNewRejects = async () => {
    const all = reader.rejectsSoFar();
    if (all.length === recorded) return;
    const fresh = all.slice(recorded);
    await recordRowRejects(deps.db, run.id, fresh.map((r) => ({ file: r.file, line: r.line, reason: r.reason })));
    recorded = all.length;
  };
  async function* work(): AsyncGenerator<SubmitWork> {
    for await (const piece of catalogueWork(reader)) {
      await recordNewRejects();
      yield piece;
    }
  }
  try {
    await recordNewRejects();
    const warn = (message: string) => deps.log.warn(message);
    let reading = false;
    const submitted = await submitInChunks({ ...deps, warn }, work(), {
      source: opts.kind ?? 'backfill',
      runId: run.id,
      maxQueuedJobs: opts.maxQueuedJobs ?? 0,
      pollMs: opts.pollMs,
      // While the producer waits for room, the bar shows the part submitted so far being processed (one
      // progress read at a time: on a huge run it can take longer than a poll).
      onWait: (sofar) => {
        if (!opts.onProgress || reading) return;
        reading = true;
        void runProgress(deps.db, run.id)
          .then((p) => opts.onProgress?.({ ...p, runId: run.id, totalListings: sofar.enqueued.length, totalImages: sofar.enqueuedPhotos, elapsedSeconds: (Date.now() - started) / 1000 }))
          .catch(() => undefined)
          .finally(() => (reading = false));
      },
    });
    // The rest of the rejects, and images whose listing is missing or rejected: known once the whole
    // catalogue has been read (a duplicate's images are stored with it, as skipped).
    await recordNewRejects();
    const catalogue = reader.tail();
    await recordRowRejects(
      deps.db,
      run.id,
      catalogue.orphanImages.filter((o) => o.cause !== 'listing-duplicate').map((o) => ({ file: opts.imagesPath, line: o.line, reason: o.reason })),
    );
    deps.log.info({ runId: run.id, enqueued: submitted.enqueued.length, unchanged: submitted.unchanged.length }, 'catalogue submitted');

    let incomplete: string | undefined;
    let progress = await runProgress(deps.db, run.id);
    const totalListings = submitted.enqueued.length;
    const totalImages = submitted.enqueuedPhotos;
    if (opts.wait ?? true) {
      let idlePolls = 0;
      const watch = noWorkerWatch(deps.admin, warn);
      while (progress.listings.pending > 0) {
        opts.onProgress?.({ ...progress, runId: run.id, totalListings, totalImages, elapsedSeconds: (Date.now() - started) / 1000 });
        await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
        progress = await runProgress(deps.db, run.id);
        await watch(progress.listings.processed + progress.listings.failed + progress.images.cleaned + progress.images.failed);
        // Pending listings with no job left anywhere cannot finish: say so instead of waiting forever.
        idlePolls = progress.listings.pending > 0 && (await deps.admin.outstanding()) === 0 ? idlePolls + 1 : 0;
        if (idlePolls >= 10) {
          incomplete = `${progress.listings.pending} listing(s) are still pending but no job is queued for them; rerun the same backfill command to requeue them.`;
          break;
        }
      }
      opts.onProgress?.({ ...progress, runId: run.id, totalListings, totalImages, elapsedSeconds: (Date.now() - started) / 1000 });
    }
    const elapsedSeconds = (Date.now() - started) / 1000;
    const summary: BackfillSummary = {
      runId: run.id,
      catalogue: {
        listings: catalogue.counts.listings,
        duplicates: catalogue.counts.duplicates,
        rejectedRows: catalogue.rejects.length,
        orphanImages: catalogue.counts.orphanImages,
        images: catalogue.counts.images,
      },
      newWork: submitted.enqueued.length,
      unchanged: submitted.unchanged.length,
      outcome: progress,
      totals: { listings: await countByStatus(deps.db), images: await countImagesByStatus(deps.db) },
      topFailureReasons: await runFailureReasons(deps.db, run.id),
      elapsedSeconds,
      listingsPerSecond: totalListings / elapsedSeconds,
      photosPerSecond: totalImages / elapsedSeconds,
      ...(incomplete ? { incomplete } : {}),
    };
    await finishRun(deps.db, run.id, { ...summary } as Record<string, unknown>);
    return summary;
  } catch (err) {
    // Listings of the chunks submitted before the failure stay stored and queued (each row was
    // validated on its own); the rows rejected until then are kept with the failed run.
    await recordNewRejects().catch(() => undefined);
    await failRun(deps.db, run.id, (err as Error).message).catch(() => undefined);
    throw err;
  }
}
