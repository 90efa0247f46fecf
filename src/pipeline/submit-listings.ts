// Turning cleaned listings into work: upsert them (and their photos) in Postgres, find what is new or
// changed, and enqueue one flow per such listing. Shared by the backfill, the nightly job and the webhook.
import type { Db, Queryable } from '../db/pool.js';
import { markImagesSkipped } from '../db/images-repo.js';
import { markSkipped, type ListingInput } from '../db/listings-repo.js';
import { lockListingsForStore, storeListingsAndRevisions, type StoredListings } from '../db/submit-repo.js';
import { saveUploadedPhotos, type UploadedPhotoInput } from '../db/uploaded-photos-repo.js';
import { createTimeMs, type Listing } from '../domain/listing.js';
import type { ListingFlowProducer } from '../queues/flows.js';

export interface ListingWithPhotos {
  listing: Listing;
  /** Photo sources in listing order: local paths (backfill) or URLs (webhook). */
  photos: { imageId: string; source: string }[];
}

export interface SkippedListing extends ListingWithPhotos {
  /** Why the listing is stored but not processed, e.g. "Duplicate of listing X (same name, ...)". */
  reason: string;
}

export interface SubmitResult {
  /** Listings whose flows were enqueued (new, changed, or still pending from an interrupted run). */
  enqueued: string[];
  /** Listings already processed/failed/skipped with identical content: no new work. */
  unchanged: string[];
  skipped: string[];
}

function toInput(l: Listing, source: string): ListingInput {
  return {
    id: l.id,
    nameRaw: l.nameRaw,
    name: l.name,
    descriptionRaw: l.descriptionRaw,
    modelText: l.modelText,
    price: l.price,
    priceRaw: l.priceRaw,
    location: l.location,
    categoryPath: l.categoryPath,
    label: l.label,
    createTime: l.createTime ? new Date(createTimeMs(l.createTime)) : null,
    imageCount: l.imageIds.length,
    contentHash: l.contentHash,
    source,
  };
}

export async function submitListings(
  deps: { db: Db; producer: ListingFlowProducer },
  work: {
    process: ListingWithPhotos[];
    skip: SkippedListing[];
    source: string;
    runId: number | null;
    receivedAt?: number;
    /** Inline photo bytes of webhook deliveries, stored in the same transaction, under the same locks. */
    uploads?: readonly UploadedPhotoInput[];
  },
): Promise<SubmitResult> {
  const all = [...work.process, ...work.skip];
  // The rows of a submit land atomically before any flow is enqueued, so a worker never picks up a
  // listing it cannot read. One transaction: the listings' advisory locks first (another producer
  // storing one of them is waited for, see lockListingsForStore), then the uploads, then the store.
  const stored = await deps.db.withTransaction(async (tx) => {
    await lockListingsForStore(tx, all.map((w) => w.listing.id));
    if (work.uploads && work.uploads.length > 0) await saveUploadedPhotos(tx, work.uploads);
    return storeListings(tx, work, all);
  });
  const skipIds = new Set(work.skip.map((w) => w.listing.id));
  const toEnqueue = work.process.filter((w) => stored.touched.has(w.listing.id) && !skipIds.has(w.listing.id));
  const receivedAt = work.receivedAt ?? Date.now();
  await deps.producer.enqueue(
    toEnqueue.map((w) => ({
      listingId: w.listing.id,
      listingHash: w.listing.contentHash,
      revision: stored.revisions.get(w.listing.id) ?? 0,
      requeue: stored.requeued.has(w.listing.id),
      images: w.photos,
      runId: work.runId,
      receivedAt,
    })),
  );
  return { enqueued: toEnqueue.map((w) => w.listing.id), unchanged: stored.unchanged, skipped: stored.skipped };
}

/** The Postgres half of a submit: listings with their photos, then skip marks. Returns what changed. */
async function storeListings(
  db: Queryable,
  work: { skip: SkippedListing[]; source: string; runId: number | null },
  all: ListingWithPhotos[],
): Promise<{ touched: Set<string>; unchanged: string[]; skipped: string[] } & Omit<StoredListings, 'outcome'>> {
  const { outcome, revisions, requeued } = await storeListingsAndRevisions(
    db,
    all.map((w) => ({
      listing: toInput(w.listing, work.source),
      photos: w.photos.map((p, position) => ({ id: p.imageId, listingId: w.listing.id, position, sourceUri: p.source })),
    })),
    work.runId,
  );
  const touched = new Set([...outcome.inserted, ...outcome.changed]);
  const skipped: string[] = [];
  for (const s of work.skip) {
    if (!touched.has(s.listing.id)) continue;
    await markSkipped(db, s.listing.id, s.listing.contentHash, s.reason);
    await markImagesSkipped(db, s.photos.map((p) => p.imageId), `Not processed: its listing was skipped (${s.reason})`);
    skipped.push(s.listing.id);
  }
  return { touched, unchanged: outcome.unchanged, skipped, revisions, requeued };
}
