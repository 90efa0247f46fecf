// Reads for the API's vector index and its result cards: prediction embeddings of one model version in
// (created_at, listing_id) order, so the index can follow predictions as they land, and the few
// listing fields a result shows.
import type { Queryable } from './pool.js';
import { fromArraySend } from './vectors.js';

export interface IndexedEmbedding {
  listingId: string;
  /** The listing's own (catalogue) category when it has one, else the predicted one. */
  category: string;
  /** The classifier's probabilities in its class-code order. */
  probabilities: Float32Array;
  embedding: Float32Array;
  /** Postgres' text form of created_at: keeps the microseconds a JS Date would drop. */
  createdAt: string;
}

export interface EmbeddingCursor {
  /** As returned in IndexedEmbedding.createdAt (exact to the microsecond). */
  createdAt: string;
  listingId: string;
}

/** Run on every search-index poll; served by predictions_created_at_idx (migration 0005). */
export const LATEST_PREDICTION_VERSION_SQL = 'SELECT model_version FROM predictions ORDER BY created_at DESC LIMIT 1';

/** The model version with the most recent prediction, or null when there is none. */
export async function latestPredictionVersion(db: Queryable): Promise<string | null> {
  const { rows } = await db.query<{ model_version: string }>(LATEST_PREDICTION_VERSION_SQL);
  return rows[0]?.model_version ?? null;
}

/**
 * One page of a version's prediction embeddings stored after the cursor (exclusive), oldest first.
 * rewindMs moves the cursor back in time, to catch rows whose transaction committed after a later one
 * (created_at is the transaction's start, not its commit). Skipped (duplicate) and failed listings are
 * left out: the prediction stored for them is of content they no longer hold.
 */
export async function predictionEmbeddingsAfter(
  db: Queryable,
  modelVersion: string,
  after: EmbeddingCursor | null,
  limit = 2000,
  rewindMs = 0,
): Promise<IndexedEmbedding[]> {
  // Rows stored by one statement share created_at to the microsecond, so the cursor must be exact:
  // it travels as text, not as a millisecond Date.
  const { rows } = await db.query<{ listing_id: string; category: string; probabilities: Buffer; embedding: Buffer; created_at: string }>(
    `SELECT p.listing_id, coalesce(l.label, p.category) AS category, array_send(p.probabilities) AS probabilities,
       array_send(p.embedding) AS embedding, p.created_at::text AS created_at
     FROM predictions p JOIN listings l ON l.id = p.listing_id AND l.status NOT IN ('skipped', 'failed')
     WHERE p.model_version = $1 AND (p.created_at, p.listing_id) > ($2::timestamptz - $5 * interval '1 millisecond', $3::text)
     ORDER BY p.created_at, p.listing_id LIMIT $4`,
    [modelVersion, after?.createdAt ?? '-infinity', after?.listingId ?? '', limit, rewindMs],
  );
  return rows.map((r) => ({
    listingId: r.listing_id,
    category: r.category,
    probabilities: fromArraySend(r.probabilities),
    embedding: fromArraySend(r.embedding),
    createdAt: r.created_at,
  }));
}

/** What a search result shows of a listing: name, price, location and its first cleaned photo. */
export interface ListingCard {
  id: string;
  name: string;
  price: number | null;
  location: string;
  label: string | null;
  status: string;
  photoId: string | null;
}

export async function listingCards(db: Queryable, ids: readonly string[]): Promise<Map<string, ListingCard>> {
  const out = new Map<string, ListingCard>();
  if (ids.length === 0) return out;
  const { rows } = await db.query<{ id: string; name: string; price: number | null; location: string; label: string | null; status: string; photo_id: string | null }>(
    `SELECT l.id, l.name, l.price, l.location, l.label, l.status,
       (SELECT i.id FROM images i WHERE i.listing_id = l.id AND i.status = 'cleaned' ORDER BY i.position, i.id LIMIT 1) AS photo_id
     FROM listings l WHERE l.id = ANY($1::text[])`,
    [ids],
  );
  for (const r of rows) {
    out.set(r.id, { id: r.id, name: r.name, price: r.price, location: r.location, label: r.label, status: r.status, photoId: r.photo_id });
  }
  return out;
}
