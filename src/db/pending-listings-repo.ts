// Listings still pending a while after they were stored, with what re-enqueueing their flow needs (the
// content hash and revision that job ids carry, and their photos' sources). A pending listing normally
// has a flow in Redis; one whose flow was lost (Redis restarted without persistence, queues obliterated)
// would otherwise stay pending for good.
import type { Queryable } from './pool.js';

/** A listing pending this long after it was stored, with no flow in Redis, has lost its flow. */
export const STALE_PENDING_MS = 15 * 60_000;

/** Listings pending for longer than `olderThanMs` by the database's clock (a backlog, or lost flows). */
export async function countStalePending(db: Queryable, olderThanMs: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM listings WHERE status = 'pending' AND updated_at < now() - $1 * interval '1 millisecond'`,
    [olderThanMs],
  );
  return rows[0]?.n ?? 0;
}

export interface PendingListing {
  id: string;
  contentHash: string;
  revision: number;
  lastRunId: number | null;
  /** Photos in listing order, as stored. */
  photos: { imageId: string; source: string }[];
}

/** One page (by id, after `afterId`) of listings pending since before `before`. */
export async function pendingListingsSince(
  db: Queryable,
  opts: { before: Date; afterId: string; limit: number },
): Promise<PendingListing[]> {
  const { rows } = await db.query<{ id: string; content_hash: string; revision: number; last_run_id: number | null; photos: { imageId: string; source: string }[] }>(
    `SELECT l.id, l.content_hash, l.revision, l.last_run_id,
       COALESCE((SELECT json_agg(json_build_object('imageId', i.id, 'source', i.source_uri) ORDER BY i.position, i.id)
                 FROM images i WHERE i.listing_id = l.id), '[]'::json) AS photos
     FROM listings l
     WHERE l.status = 'pending' AND l.updated_at < $1 AND l.id > $2
     ORDER BY l.id LIMIT $3`,
    [opts.before, opts.afterId, opts.limit],
  );
  return rows.map((r) => ({ id: r.id, contentHash: r.content_hash, revision: r.revision, lastRunId: r.last_run_id, photos: r.photos }));
}

/** Of these listings, the ids still pending with this content and revision (read again just before acting). */
export async function stillPending(db: Queryable, items: readonly { id: string; contentHash: string; revision: number }[]): Promise<Set<string>> {
  if (items.length === 0) return new Set();
  const { rows } = await db.query<{ id: string }>(
    `SELECT l.id FROM listings l JOIN unnest($1::text[], $2::text[], $3::int[]) AS t(id, content_hash, revision)
       ON l.id = t.id AND l.content_hash = t.content_hash AND l.revision = t.revision
     WHERE l.status = 'pending'`,
    [items.map((i) => i.id), items.map((i) => i.contentHash), items.map((i) => i.revision)],
  );
  return new Set(rows.map((r) => r.id));
}
