// One statement for the Postgres half of a submit: upsert the listings, then (for the listings that are
// new or changed) upsert their photos and delete photos they no longer have. One statement per chunk
// costs one round trip and one WAL flush, and as a prepared statement it is parsed and planned once per
// connection (that was most of its cost). It is the webhook's accept hot path; submitListings runs it
// in a transaction after lockListingsForStore.
// Built from the repos' own SQL pieces, not a copy.
import { assertUniqueKeys, chunk, ROWS_PER_STATEMENT } from './batch.js';
import { imageInputRelation, imageUpsertParams, imageUpsertStatement, type ImageInput } from './images-repo.js';
import { LISTING_UPSERT_CTES, listingUpsertParams, type ListingInput, type UpsertOutcome } from './listings-repo.js';
import type { Queryable } from './pool.js';
import { prepared } from './prepared.js';

const STORE_SQL = prepared(`
WITH ${LISTING_UPSERT_CTES},
touched AS (SELECT id FROM outcomes WHERE outcome <> 'unchanged'),
img_input AS (SELECT * FROM ${imageInputRelation(17)} WHERE listing_id IN (SELECT id FROM touched)),
img_upserted AS (${imageUpsertStatement('img_input')}
  RETURNING 1
),
img_removed AS (
  DELETE FROM images WHERE listing_id IN (SELECT id FROM touched) AND id NOT IN (SELECT id FROM img_input)
  RETURNING 1
)
SELECT o.id, o.outcome, o.revision, o.same_content,
       -- Another producer changed this listing after this statement's snapshot was taken (the upsert
       -- waited for its row lock and then saw a revision the snapshot did not): img_removed cannot see
       -- photos that producer inserted, so they are removed by RACED_PHOTOS_SQL instead.
       (u.id IS NOT NULL AND u.revision <> COALESCE(p.revision + CASE WHEN p.content_hash <> i.content_hash THEN 1 ELSE 0 END, 0)) AS raced
FROM outcomes o JOIN input i USING (id) LEFT JOIN prev p USING (id) LEFT JOIN upserted u USING (id)`);

// A fresh statement (so a fresh snapshot) for the listings a concurrent producer raced: removes the photos
// they no longer list, provided they still hold this call's content (FOR SHARE waits for a producer still
// writing them, then rechecks the hash), so a newer producer's photos are never removed.
const RACED_PHOTOS_SQL = `
WITH owners AS (
  SELECT l.id FROM listings l JOIN unnest($1::text[], $2::text[]) AS c(id, content_hash) USING (id)
  WHERE l.content_hash = c.content_hash FOR SHARE OF l
),
kept AS (SELECT * FROM unnest($3::text[], $4::text[]) AS k(listing_id, image_id))
DELETE FROM images im WHERE im.listing_id IN (SELECT id FROM owners)
  AND NOT EXISTS (SELECT 1 FROM kept WHERE kept.listing_id = im.listing_id AND kept.image_id = im.id)`;

/** What storeListingsAndRevisions found, plus each listing's content revision (for its job ids). */
export interface StoredListings {
  outcome: UpsertOutcome;
  /** Listing id -> revision after the store (migration 0004); every listing of the call is present. */
  revisions: Map<string, number>;
  /**
   * Listings in `outcome.changed` whose content is the one already stored (they were still pending):
   * their earlier flow may have finished without settling them, so the producer may need to clear it.
   */
  requeued: Set<string>;
}

/**
 * Upserts listings with their photos. Photos are (re)registered only for listings with new content
 * (unchanged listings keep their photo outcomes); a changed listing loses photos it no longer lists.
 * Each chunk is one statement; callers wanting several chunks to be atomic pass a transaction.
 */
export async function storeListingsAndRevisions(
  db: Queryable,
  items: readonly { listing: ListingInput; photos: readonly ImageInput[] }[],
  runId: number | null,
): Promise<StoredListings> {
  assertUniqueKeys(items.map((i) => i.listing.id), 'Listing id');
  assertUniqueKeys(items.flatMap((i) => i.photos.map((p) => p.id)), 'Image id');
  const outcome: UpsertOutcome = { inserted: [], changed: [], unchanged: [] };
  const revisions = new Map<string, number>();
  const requeued = new Set<string>();
  for (const part of chunk(items, ROWS_PER_STATEMENT)) {
    const { rows } = await db.query<{ id: string; outcome: keyof UpsertOutcome; revision: number; same_content: boolean; raced: boolean }>(STORE_SQL, [
      ...listingUpsertParams(part.map((p) => p.listing), runId, false),
      ...imageUpsertParams(part.flatMap((p) => p.photos)),
    ]);
    const raced = new Set<string>();
    for (const row of rows) {
      outcome[row.outcome].push(row.id);
      revisions.set(row.id, row.revision);
      if (row.outcome === 'changed' && row.same_content) requeued.add(row.id);
      if (row.raced) raced.add(row.id);
    }
    if (raced.size > 0) await removeRacedPhotos(db, part.filter((p) => raced.has(p.listing.id)));
  }
  return { outcome, revisions, requeued };
}

async function removeRacedPhotos(db: Queryable, items: readonly { listing: ListingInput; photos: readonly ImageInput[] }[]): Promise<void> {
  const photos = items.flatMap((i) => i.photos);
  await db.query(RACED_PHOTOS_SQL, [
    items.map((i) => i.listing.id), items.map((i) => i.listing.contentHash),
    photos.map((p) => p.listingId), photos.map((p) => p.id),
  ]);
}


/**
 * Serialises producers on these listings for the rest of the caller's transaction: a per-listing
 * advisory lock, taken in id order (so two callers cannot deadlock on them), before anything is read.
 * Without it, two producers storing one listing at once (a webhook edit and the nightly backfill, two
 * API replicas) each computed the outcome from a snapshot taken before the other's write: the loser
 * could answer "unchanged" for content that had just been overwritten, leaving the listing pending with
 * no flow and without its photos. The statement after this one takes a fresh snapshot and sees the
 * other's committed write. Keys are per schema, so test schemas never wait on each other.
 */
export async function lockListingsForStore(tx: Queryable, listingIds: readonly string[]): Promise<void> {
  if (listingIds.length === 0) return;
  await tx.query(
    `SELECT count(pg_advisory_xact_lock(hashtextextended('listing-pipeline:listing:' || current_schema() || ':' || id, 0)))
     FROM (SELECT DISTINCT unnest($1::text[]) AS id ORDER BY 1) ids`,
    [listingIds],
  );
}
