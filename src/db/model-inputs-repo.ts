// What fitting the offline encoders reads: listings' model text and label, and cleaned photos, in
// keyset pages so the whole catalogue is never held as one result set.
import type { Queryable } from './pool.js';

export interface ListingText {
  id: string;
  contentHash: string;
  modelText: string;
  name: string;
  price: number | null;
  location: string;
  label: string | null;
}

export interface CleanedPhoto {
  id: string;
  listingId: string;
  jpeg: Buffer;
}

export async function* listingTexts(db: Queryable, pageSize = 2000): AsyncGenerator<ListingText[]> {
  let after = '';
  for (;;) {
    const { rows } = await db.query<{ id: string; content_hash: string; model_text: string; name: string; price: number | null; location: string; label: string | null }>(
      `SELECT id, content_hash, model_text, name, price, location, label FROM listings WHERE id > $1 AND status IN ('pending', 'processed') ORDER BY id LIMIT $2`,
      [after, pageSize],
    );
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.id;
    yield rows.map((r) => ({ id: r.id, contentHash: r.content_hash, modelText: r.model_text, name: r.name, price: r.price, location: r.location, label: r.label }));
  }
}

export async function* cleanedPhotos(db: Queryable, pageSize = 1000): AsyncGenerator<CleanedPhoto[]> {
  let after = '';
  for (;;) {
    const { rows } = await db.query<{ id: string; listing_id: string; cleaned_jpeg: Buffer }>(
      `SELECT id, listing_id, cleaned_jpeg FROM images WHERE id > $1 AND status = 'cleaned' ORDER BY id LIMIT $2`,
      [after, pageSize],
    );
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.id;
    yield rows.map((r) => ({ id: r.id, listingId: r.listing_id, jpeg: r.cleaned_jpeg }));
  }
}

/** Processed listings lacking a prediction of this model version (for `classify`). */
/**
 * Processed listings with no prediction from modelVersion, in id order, one page after `afterId` (the
 * last id of the previous page).
 */
export async function listingsWithoutPrediction(
  db: Queryable,
  modelVersion: string,
  page: { afterId: string; limit: number },
): Promise<{ id: string; contentHash: string }[]> {
  const { rows } = await db.query<{ id: string; content_hash: string }>(
    `SELECT l.id, l.content_hash FROM listings l
     WHERE l.status = 'processed' AND l.id > $2
       AND NOT EXISTS (SELECT 1 FROM predictions p WHERE p.listing_id = l.id AND p.model_version = $1)
     ORDER BY l.id LIMIT $3`,
    [modelVersion, page.afterId, page.limit],
  );
  return rows.map((r) => ({ id: r.id, contentHash: r.content_hash }));
}

/** How many listings processed before `processedBefore`, with ids up to `maxId`, have no prediction from modelVersion. */
export async function countWithoutPrediction(db: Queryable, modelVersion: string, maxId: string, processedBefore: Date): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM listings l
     WHERE l.status = 'processed' AND l.id <= $2 AND l.processed_at < $3
       AND NOT EXISTS (SELECT 1 FROM predictions p WHERE p.listing_id = l.id AND p.model_version = $1)`,
    [modelVersion, maxId, processedBefore],
  );
  return rows[0]?.n ?? 0;
}

export async function countPredictions(db: Queryable, modelVersion: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM predictions WHERE model_version = $1', [modelVersion]);
  return rows[0]?.n ?? 0;
}


/** The database's clock, for comparisons with timestamps it wrote (the app host's clock may be off). */
export async function databaseNow(db: Queryable): Promise<Date> {
  const { rows } = await db.query<{ now: Date }>('SELECT now() AS now');
  return rows[0]!.now;
}
