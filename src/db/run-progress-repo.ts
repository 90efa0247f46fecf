// Progress of one run: the listings it (re)queued and their photos, by status, plus the most common
// failure reasons. Read by the backfill's progress bar and its closing summary.
import type { Queryable } from './pool.js';

export interface RunProgress {
  listings: { pending: number; processed: number; failed: number; skipped: number };
  images: { pending: number; cleaned: number; failed: number; skipped: number };
}

export interface ReasonCount {
  reason: string;
  count: number;
}

export async function runProgress(db: Queryable, runId: number): Promise<RunProgress> {
  const { rows } = await db.query<{ kind: string; status: string; count: number }>(
    `SELECT 'listing' AS kind, status, count(*) AS count FROM listings WHERE last_run_id = $1 GROUP BY status
     UNION ALL
     SELECT 'image', i.status, count(*) FROM images i JOIN listings l ON l.id = i.listing_id
      WHERE l.last_run_id = $1 GROUP BY i.status`,
    [runId],
  );
  const out: RunProgress = {
    listings: { pending: 0, processed: 0, failed: 0, skipped: 0 },
    images: { pending: 0, cleaned: 0, failed: 0, skipped: 0 },
  };
  for (const r of rows) {
    const bucket = (r.kind === 'listing' ? out.listings : out.images) as Record<string, number>;
    bucket[r.status] = r.count;
  }
  return out;
}

/** Most common reasons among this run's failed photos (by code) and failed listings (by reason). */
export async function runFailureReasons(db: Queryable, runId: number, limit = 5): Promise<{ images: ReasonCount[]; listings: ReasonCount[] }> {
  const images = await db.query<{ reason: string; count: number }>(
    `SELECT i.failure_code AS reason, count(*) AS count FROM images i JOIN listings l ON l.id = i.listing_id
     WHERE l.last_run_id = $1 AND i.status = 'failed' GROUP BY i.failure_code ORDER BY count DESC, reason LIMIT $2`,
    [runId, limit],
  );
  const listings = await db.query<{ reason: string; count: number }>(
    `SELECT coalesce(status_reason, '(no reason recorded)') AS reason, count(*) AS count FROM listings
     WHERE last_run_id = $1 AND status = 'failed' GROUP BY 1 ORDER BY count DESC, reason LIMIT $2`,
    [runId, limit],
  );
  return { images: images.rows, listings: listings.rows };
}
