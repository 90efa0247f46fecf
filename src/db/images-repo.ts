// Images: one row per listing photo, with the cleaning outcome and the letterboxed JPEG for serving.
import { assertUniqueKeys, chunk, countsByKey, ROWS_PER_STATEMENT } from './batch.js';
import type { ListingContent, UpsertOutcome } from './listings-repo.js';
import type { Queryable } from './pool.js';

// 'skipped' (migration 0002): photos of a listing that is deliberately not processed.
export const IMAGE_STATUSES = ['pending', 'cleaned', 'failed', 'skipped'] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

export interface ImageInput {
  id: string;
  listingId: string;
  /** 0-based order of the photo within its listing. */
  position: number;
  /** File path (backfill) or URL (webhook). */
  sourceUri: string;
  /** Producer-supplied hash of the source; when given and different, the image is cleaned again. */
  contentHash?: string | null;
}

export interface CleanedImage {
  bytes: number;
  width: number;
  height: number;
  format: string;
  cleanedJpeg: Buffer;
}

export interface ImageRow {
  id: string;
  listingId: string;
  position: number;
  sourceUri: string;
  status: ImageStatus;
  failureCode: string | null;
  failureReason: string | null;
  bytes: number | null;
  width: number | null;
  height: number | null;
  format: string | null;
  contentHash: string | null;
  /** Only filled when asked for (withJpeg), to keep listing reads small. */
  cleanedJpeg?: Buffer | null;
  createdAt: Date;
  updatedAt: Date;
}

// A new source (different URI, or a different producer hash) throws away the old cleaning result.
// A skipped photo is reset too: whether its listing is skipped is decided again on every submit.
const RESET = `(i.source_uri <> EXCLUDED.source_uri OR i.status = 'skipped'
  OR (EXCLUDED.content_hash IS NOT NULL AND EXCLUDED.content_hash IS DISTINCT FROM i.content_hash))`;
/** INSERT ... ON CONFLICT of image rows from `relation` (columns id, listing_id, position, source_uri, content_hash). */
export const imageUpsertStatement = (relation: string): string => `
  INSERT INTO images AS i (id, listing_id, position, source_uri, content_hash)
  SELECT id, listing_id, position, source_uri, content_hash FROM ${relation}
  ON CONFLICT (id) DO UPDATE SET
    listing_id = EXCLUDED.listing_id,
    position = EXCLUDED.position,
    source_uri = EXCLUDED.source_uri,
    content_hash = COALESCE(EXCLUDED.content_hash, i.content_hash),
    status = CASE WHEN ${RESET} THEN 'pending' ELSE i.status END,
    failure_code = CASE WHEN ${RESET} THEN NULL ELSE i.failure_code END,
    failure_reason = CASE WHEN ${RESET} THEN NULL ELSE i.failure_reason END,
    bytes = CASE WHEN ${RESET} THEN NULL ELSE i.bytes END,
    width = CASE WHEN ${RESET} THEN NULL ELSE i.width END,
    height = CASE WHEN ${RESET} THEN NULL ELSE i.height END,
    format = CASE WHEN ${RESET} THEN NULL ELSE i.format END,
    cleaned_jpeg = CASE WHEN ${RESET} THEN NULL ELSE i.cleaned_jpeg END,
    updated_at = now()
  WHERE ${RESET} OR (i.listing_id, i.position) IS DISTINCT FROM (EXCLUDED.listing_id, EXCLUDED.position)`;

/** unnest() of the five image columns from parameters $<first>..$<first + 4>. */
export const imageInputRelation = (first: number): string =>
  `unnest($${first}::text[], $${first + 1}::text[], $${first + 2}::int[], $${first + 3}::text[], $${first + 4}::text[])
    AS t(id, listing_id, position, source_uri, content_hash)`;

/** The five parameters of imageInputRelation. */
export function imageUpsertParams(part: readonly ImageInput[]): unknown[] {
  return [part.map((i) => i.id), part.map((i) => i.listingId), part.map((i) => i.position), part.map((i) => i.sourceUri), part.map((i) => i.contentHash ?? null)];
}

const UPSERT_SQL = `
WITH input AS (SELECT * FROM ${imageInputRelation(1)}),
prev AS (SELECT i.id, i.source_uri, i.content_hash, i.status FROM images i JOIN input USING (id)),
upserted AS (${imageUpsertStatement('input')}
  RETURNING 1
)
SELECT n.id,
       CASE WHEN p.id IS NULL THEN 'inserted'
            WHEN p.source_uri <> n.source_uri OR (n.content_hash IS NOT NULL AND n.content_hash IS DISTINCT FROM p.content_hash)
              OR p.status IN ('pending', 'skipped') THEN 'changed'
            ELSE 'unchanged' END AS outcome
FROM input n LEFT JOIN prev p USING (id)`;

/** Inserts or updates image rows in batches; inserted + changed are the images still to clean. */
export async function upsertImages(db: Queryable, images: readonly ImageInput[]): Promise<UpsertOutcome> {
  assertUniqueKeys(images.map((i) => i.id), 'Image id');
  const outcome: UpsertOutcome = { inserted: [], changed: [], unchanged: [] };
  for (const part of chunk(images, ROWS_PER_STATEMENT)) {
    const { rows } = await db.query<{ id: string; outcome: keyof UpsertOutcome }>(UPSERT_SQL, imageUpsertParams(part));
    for (const row of rows) outcome[row.outcome].push(row.id);
  }
  return outcome;
}

// With `current`, a write lands only while the photo's listing still has the content the job was
// enqueued for, checked in the same statement (FOR SHARE: see embeddings-repo.ts), so a job for old
// content cannot overwrite the outcome of the photo as the new content lists it.
const guard = (first: number) =>
  `AND listing_id = $${first} AND EXISTS (SELECT 1 FROM listings l WHERE l.id = $${first} AND l.content_hash = $${first + 1} FOR SHARE)`;
const guardParams = (current: ListingContent | undefined) => (current ? [current.listingId, current.contentHash] : []);

/** Stores the cleaning result; false when the image row no longer exists (or, with `current`, the listing moved on). */
export async function markImageCleaned(db: Queryable, id: string, image: CleanedImage, current?: ListingContent): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE images SET status = 'cleaned', failure_code = NULL, failure_reason = NULL,
       bytes = $2, width = $3, height = $4, format = $5, cleaned_jpeg = $6, updated_at = now()
     WHERE id = $1 ${current ? guard(7) : ''}`,
    [id, image.bytes, image.width, image.height, image.format, image.cleanedJpeg, ...guardParams(current)],
  );
  return (rowCount ?? 0) > 0;
}

/** Records why an image could not be cleaned (code: short machine-readable, reason: for a person); guarded as markImageCleaned. */
export async function markImageFailed(db: Queryable, id: string, code: string, reason: string, current?: ListingContent): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE images SET status = 'failed', failure_code = $2, failure_reason = $3,
       bytes = NULL, width = NULL, height = NULL, format = NULL, cleaned_jpeg = NULL, updated_at = now()
     WHERE id = $1 ${current ? guard(4) : ''}`,
    [id, code, reason, ...guardParams(current)],
  );
  return (rowCount ?? 0) > 0;
}

/** Marks photos as deliberately not processed (their listing was skipped), with the reason. */
export async function markImagesSkipped(db: Queryable, imageIds: readonly string[], reason: string): Promise<number> {
  if (imageIds.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE images SET status = 'skipped', failure_code = NULL, failure_reason = $2,
       bytes = NULL, width = NULL, height = NULL, format = NULL, cleaned_jpeg = NULL, updated_at = now()
     WHERE id = ANY($1::text[]) AND (status, failure_reason) IS DISTINCT FROM ('skipped', $2)`,
    [imageIds, reason],
  );
  return rowCount ?? 0;
}

function toImage(r: Record<string, unknown>, withJpeg: boolean): ImageRow {
  const row: ImageRow = {
    id: r.id as string,
    listingId: r.listing_id as string,
    position: r.position as number,
    sourceUri: r.source_uri as string,
    status: r.status as ImageStatus,
    failureCode: r.failure_code as string | null,
    failureReason: r.failure_reason as string | null,
    bytes: r.bytes as number | null,
    width: r.width as number | null,
    height: r.height as number | null,
    format: r.format as string | null,
    contentHash: r.content_hash as string | null,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
  };
  if (withJpeg) row.cleanedJpeg = r.cleaned_jpeg as Buffer | null;
  return row;
}

const COLUMNS = `id, listing_id, position, source_uri, status, failure_code, failure_reason, bytes, width, height,
  format, content_hash, created_at, updated_at`;

export async function imagesForListing(db: Queryable, listingId: string, opts: { withJpeg?: boolean } = {}): Promise<ImageRow[]> {
  return (await imagesForListings(db, [listingId], opts)).get(listingId) ?? [];
}

/** Images of many listings in one round trip, each list in photo order; listings without images are absent. */
export async function imagesForListings(
  db: Queryable,
  listingIds: readonly string[],
  opts: { withJpeg?: boolean } = {},
): Promise<Map<string, ImageRow[]>> {
  const out = new Map<string, ImageRow[]>();
  if (listingIds.length === 0) return out;
  const withJpeg = opts.withJpeg ?? false;
  const { rows } = await db.query(
    `SELECT ${COLUMNS}${withJpeg ? ', cleaned_jpeg' : ''} FROM images
     WHERE listing_id = ANY($1::text[]) ORDER BY listing_id, position, id`,
    [listingIds],
  );
  for (const r of rows) {
    const image = toImage(r, withJpeg);
    const list = out.get(image.listingId);
    if (list) list.push(image);
    else out.set(image.listingId, [image]);
  }
  return out;
}

/** The letterboxed JPEG for serving, or null when the image is unknown or not cleaned. */
export async function getCleanedJpeg(db: Queryable, imageId: string): Promise<Buffer | null> {
  const { rows } = await db.query<{ cleaned_jpeg: Buffer | null }>('SELECT cleaned_jpeg FROM images WHERE id = $1', [imageId]);
  return rows[0]?.cleaned_jpeg ?? null;
}

export async function countImagesByStatus(db: Queryable): Promise<Record<ImageStatus, number>> {
  const { rows } = await db.query<{ key: string; count: number }>('SELECT status AS key, count(*) AS count FROM images GROUP BY status');
  return countsByKey(IMAGE_STATUSES, rows);
}

export interface FailureReasonCount {
  code: string;
  count: number;
  /** One of the reasons recorded with this code (reasons name files, so they differ per image). */
  exampleReason: string;
}

/** The most common image failure codes, most frequent first. */
export async function topImageFailureReasons(db: Queryable, limit = 10): Promise<FailureReasonCount[]> {
  const { rows } = await db.query<{ code: string; count: number; example_reason: string }>(
    `SELECT failure_code AS code, count(*) AS count, min(failure_reason) AS example_reason
     FROM images WHERE status = 'failed' GROUP BY failure_code ORDER BY count(*) DESC, failure_code LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ code: r.code, count: r.count, exampleReason: r.example_reason }));
}
