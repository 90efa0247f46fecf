// Text and image embeddings, keyed by (listing or image, model version), and the training-set read.
import { assertUniqueKeys, chunk, ROWS_PER_STATEMENT, valuesPlaceholders, VECTORS_PER_STATEMENT } from './batch.js';
import type { ListingContent } from './listings-repo.js';
import type { Queryable } from './pool.js';
import { prepared } from './prepared.js';
import { fromArraySend, toArrayRecv, type Vector } from './vectors.js';

export interface TextEmbeddingInput {
  listingId: string;
  /** The listing content the vector was computed from (listings.content_hash at the time; migration 0006). */
  contentHash: string;
  vector: Vector;
}
export interface ImageEmbeddingInput {
  imageId: string;
  vector: Vector;
}
export interface ListingImageEmbedding {
  imageId: string;
  position: number;
  vector: Float32Array;
}

/**
 * The columns beyond key, model version and vector: text rows also record which content of the listing
 * they embed (migration 0006), so that a vector of earlier content is never read for the current one.
 */
const EXTRA_COLUMNS = { text_embeddings: ['content_hash'], image_embeddings: [] } as const;

/** ON CONFLICT clause shared by the bulk and the guarded writes: rewriting identical values is skipped. */
function onConflictUpdate(keyColumn: string, columns: readonly string[]): string {
  const all = ['vector', ...columns];
  return `ON CONFLICT (${keyColumn}, model_version) DO UPDATE SET ${all.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, created_at = now()
  WHERE (${all.map((c) => `e.${c}`).join(', ')}) IS DISTINCT FROM (${all.map((c) => `EXCLUDED.${c}`).join(', ')})`;
}

async function upsertVectors(
  db: Queryable,
  table: 'text_embeddings' | 'image_embeddings',
  keyColumn: 'listing_id' | 'image_id',
  modelVersion: string,
  rows: readonly { key: string; vector: Vector; extra?: readonly string[] }[],
): Promise<void> {
  assertUniqueKeys(rows.map((r) => r.key), keyColumn === 'listing_id' ? 'Listing id' : 'Image id');
  const extra = EXTRA_COLUMNS[table];
  const types = ['text', 'real[]', ...extra.map(() => 'text')];
  for (const part of chunk(rows, VECTORS_PER_STATEMENT)) {
    // Rewriting an identical row is skipped, so a retried job leaves created_at alone.
    const params: unknown[] = [modelVersion];
    for (const r of part) params.push(r.key, toArrayRecv(r.vector, `The embedding of ${r.key}`), ...(r.extra ?? []));
    const columns = ['vector', ...extra].join(', ');
    await db.query(
      `INSERT INTO ${table} AS e (${keyColumn}, model_version, ${columns})
       SELECT key, $1, ${columns} FROM (VALUES ${valuesPlaceholders(part.length, types, 2)}) AS t(key, ${columns})
       ${onConflictUpdate(keyColumn, extra)}`,
      params,
    );
  }
}

export function upsertTextEmbeddings(db: Queryable, modelVersion: string, rows: readonly TextEmbeddingInput[]): Promise<void> {
  return upsertVectors(db, 'text_embeddings', 'listing_id', modelVersion, rows.map((r) => ({ key: r.listingId, vector: r.vector, extra: [r.contentHash] })));
}

export function upsertImageEmbeddings(db: Queryable, modelVersion: string, rows: readonly ImageEmbeddingInput[]): Promise<void> {
  return upsertVectors(db, 'image_embeddings', 'image_id', modelVersion, rows.map((r) => ({ key: r.imageId, vector: r.vector })));
}

// The pipeline's writes: one vector, stored only while the listing still has the content the job was
// enqueued for, checked in the same statement. FOR SHARE holds off a concurrent upsert of new content
// until this statement is done (or, if that upsert came first, re-reads the row and finds the new
// hash), so a job for old content can never land its vector over the new content's.
const CURRENT_LISTING = 'SELECT 1 FROM listings WHERE id = $2 AND content_hash = $3 FOR SHARE';

const IF_CURRENT_SQL = (table: keyof typeof EXTRA_COLUMNS, keyColumn: string, keyParam: string, guard: string, extraParams: readonly string[]) => `
WITH current AS (${guard}),
written AS (
  INSERT INTO ${table} AS e (${keyColumn}, model_version, ${['vector', ...EXTRA_COLUMNS[table]].join(', ')})
  SELECT ${keyParam}, $1, ${['$4::real[]', ...extraParams].join(', ')} FROM current
  ${onConflictUpdate(keyColumn, EXTRA_COLUMNS[table])}
  RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM current) AS current`;

// The text row records the content it embeds: $3, which the guard has just found current.
const TEXT_IF_CURRENT = prepared(IF_CURRENT_SQL('text_embeddings', 'listing_id', '$2', CURRENT_LISTING, ['$3']));
const IMAGE_IF_CURRENT = prepared(IF_CURRENT_SQL('image_embeddings', 'image_id', '$5', `SELECT 1 FROM listings l JOIN images i ON i.listing_id = l.id
  WHERE l.id = $2 AND l.content_hash = $3 AND i.id = $5 FOR SHARE OF l`, []));

/** Stores a text-embed job's vector; false (nothing written) when the listing's content has moved on. */
export async function upsertTextEmbeddingIfCurrent(db: Queryable, modelVersion: string, content: ListingContent, vector: Vector): Promise<boolean> {
  const { rows } = await db.query<{ current: boolean }>(TEXT_IF_CURRENT, [
    modelVersion, content.listingId, content.contentHash, toArrayRecv(vector, `The embedding of ${content.listingId}`),
  ]);
  return rows[0]?.current ?? false;
}

/** Stores an image-clean job's vector; false (nothing written) when the photo's listing has moved on or dropped it. */
export async function upsertImageEmbeddingIfCurrent(
  db: Queryable,
  modelVersion: string,
  content: ListingContent & { imageId: string },
  vector: Vector,
): Promise<boolean> {
  const { rows } = await db.query<{ current: boolean }>(IMAGE_IF_CURRENT, [
    modelVersion, content.listingId, content.contentHash, toArrayRecv(vector, `The embedding of ${content.imageId}`), content.imageId,
  ]);
  return rows[0]?.current ?? false;
}

/**
 * Text embeddings of these listings' given contents for one model version; a listing whose stored vector
 * was computed from other content (before an edit) is absent, like one without a vector.
 */
export async function getTextEmbeddings(
  db: Queryable,
  modelVersion: string,
  listings: readonly { listingId: string; contentHash: string }[],
): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  if (listings.length === 0) return out;
  const { rows } = await db.query<{ listing_id: string; vector: Buffer }>(
    `SELECT t.listing_id, array_send(t.vector) AS vector
     FROM text_embeddings t JOIN unnest($2::text[], $3::text[]) AS c(listing_id, content_hash)
       ON t.listing_id = c.listing_id AND t.content_hash = c.content_hash
     WHERE t.model_version = $1`,
    [modelVersion, listings.map((l) => l.listingId), listings.map((l) => l.contentHash)],
  );
  for (const r of rows) out.set(r.listing_id, fromArraySend(r.vector));
  return out;
}

/** Image embeddings by image id for one model version; ids without one are absent. */
export async function getImageEmbeddings(db: Queryable, modelVersion: string, imageIds: readonly string[]): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  if (imageIds.length === 0) return out;
  const { rows } = await db.query<{ image_id: string; vector: Buffer }>(
    'SELECT image_id, array_send(vector) AS vector FROM image_embeddings WHERE model_version = $1 AND image_id = ANY($2::text[])',
    [modelVersion, imageIds],
  );
  for (const r of rows) out.set(r.image_id, fromArraySend(r.vector));
  return out;
}

/** Per listing, the embeddings of its cleaned photos in photo order (what the combined classifier reads). */
export async function imageEmbeddingsForListings(
  db: Queryable,
  modelVersion: string,
  listingIds: readonly string[],
): Promise<Map<string, ListingImageEmbedding[]>> {
  const out = new Map<string, ListingImageEmbedding[]>();
  if (listingIds.length === 0) return out;
  const { rows } = await db.query<{ listing_id: string; image_id: string; position: number; vector: Buffer }>(
    `SELECT i.listing_id, i.id AS image_id, i.position, array_send(e.vector) AS vector
     FROM images i JOIN image_embeddings e ON e.image_id = i.id AND e.model_version = $1
     WHERE i.listing_id = ANY($2::text[]) AND i.status = 'cleaned' ORDER BY i.listing_id, i.position, i.id`,
    [modelVersion, listingIds],
  );
  for (const r of rows) {
    const item = { imageId: r.image_id, position: r.position, vector: fromArraySend(r.vector) };
    const list = out.get(r.listing_id);
    if (list) list.push(item);
    else out.set(r.listing_id, [item]);
  }
  return out;
}

export interface TrainingExample {
  listingId: string;
  /** Top-level category name. */
  label: string;
  /** null when the listing has no text embedding of textVersion. */
  textEmbedding: Float32Array | null;
  /** Embeddings of imageVersion in photo order; empty when none. */
  images: ListingImageEmbedding[];
}

/**
 * Every labelled listing that has at least one embedding of the requested versions (pass null to
 * leave a modality out), in listing id order. Skipped listings (duplicates: training on them counts a
 * listing twice, and can put a test listing's twin in training) and failed ones are left out, and so
 * are photos that are not cleaned (a photo whose source changed keeps its old photo's embedding until
 * it is cleaned again) and text vectors of a listing's earlier content: the same listings and photos
 * `setup` embeds. Reads in pages of listings so the vectors of the whole
 * catalogue never travel in one result.
 */
export async function loadTrainingSet(db: Queryable, textVersion: string | null, imageVersion: string | null): Promise<TrainingExample[]> {
  const examples: TrainingExample[] = [];
  let afterId = '';
  for (;;) {
    const { rows } = await db.query<{ id: string; label: string; vector: Buffer | null }>(
      `SELECT l.id, l.label, array_send(t.vector) AS vector FROM listings l
       LEFT JOIN text_embeddings t ON t.listing_id = l.id AND t.model_version = $1 AND t.content_hash = l.content_hash
       WHERE l.label IS NOT NULL AND l.status IN ('pending', 'processed') AND l.id > $2 ORDER BY l.id LIMIT $3`,
      [textVersion, afterId, ROWS_PER_STATEMENT],
    );
    if (rows.length === 0) break;
    afterId = (rows[rows.length - 1] as { id: string }).id;
    const images = imageVersion === null ? new Map<string, ListingImageEmbedding[]>()
      : await imageEmbeddingsForListings(db, imageVersion, rows.map((r) => r.id));
    for (const r of rows) {
      const imgs = images.get(r.id) ?? [];
      if (r.vector === null && imgs.length === 0) continue;
      const textEmbedding = r.vector === null ? null : fromArraySend(r.vector);
      examples.push({ listingId: r.id, label: r.label, textEmbedding, images: imgs });
    }
  }
  return examples;
}
