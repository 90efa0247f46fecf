// One statement for the Postgres half of a submit: upsert the listings, then (for the listings that are
// new or changed) upsert their photos and delete photos they no longer have. One statement is atomic
// on its own and costs one round trip and one WAL flush, and as a prepared statement it is parsed and
// planned once per connection (that was most of its cost). It is the webhook's accept hot path.
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
SELECT id, outcome, revision, same_content FROM outcomes`);

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
    const { rows } = await db.query<{ id: string; outcome: keyof UpsertOutcome; revision: number; same_content: boolean }>(STORE_SQL, [
      ...listingUpsertParams(part.map((p) => p.listing), runId, false),
      ...imageUpsertParams(part.flatMap((p) => p.photos)),
    ]);
    for (const row of rows) {
      outcome[row.outcome].push(row.id);
      revisions.set(row.id, row.revision);
      if (row.outcome === 'changed' && row.same_content) requeued.add(row.id);
    }
  }
  return { outcome, revisions, requeued };
}

/** How many statements storeListingsAndRevisions sends for this many listings. */
export const storeStatements = (listings: number): number => Math.ceil(listings / ROWS_PER_STATEMENT);
