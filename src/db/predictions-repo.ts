// Predictions: one per (listing, model version), with class probabilities and the fused embedding.
import { assertUniqueKeys, chunk, valuesPlaceholders, VECTORS_PER_STATEMENT } from './batch.js';
import type { ListingContent } from './listings-repo.js';
import type { Queryable } from './pool.js';
import { prepared } from './prepared.js';
import { fromArraySend, toArrayRecv, type Vector } from './vectors.js';

export const MODALITIES = ['combined', 'text', 'image'] as const;
export type Modality = (typeof MODALITIES)[number];

export interface PredictionInput {
  listingId: string;
  modelVersion: string;
  category: string;
  categoryCode: number;
  /** One per class, in class-code order. */
  probabilities: Vector;
  /** Which inputs the prediction used (a listing without photos is predicted from text alone). */
  modality: Modality;
  /** Fused embedding used for "similar listings". */
  embedding: Vector;
}

export interface PredictionRow extends PredictionInput {
  probabilities: Float32Array;
  embedding: Float32Array;
  createdAt: Date;
}

// Vectors are read in Postgres' binary array form (see fromArraySend).
const COLUMNS = 'listing_id, model_version, category, category_code, array_send(probabilities) AS probabilities, modality, created_at';
const EMBEDDING = 'array_send(embedding) AS embedding';

function toPrediction(r: Record<string, unknown>): PredictionRow {
  return {
    listingId: r.listing_id as string,
    modelVersion: r.model_version as string,
    category: r.category as string,
    categoryCode: r.category_code as number,
    probabilities: fromArraySend(r.probabilities as Buffer),
    modality: r.modality as Modality,
    embedding: r.embedding === undefined ? new Float32Array(0) : fromArraySend(r.embedding as Buffer),
    createdAt: r.created_at as Date,
  };
}

/** Stores predictions in batches; a rerun with the same model version replaces the earlier result. */
export async function upsertPredictions(db: Queryable, rows: readonly PredictionInput[]): Promise<void> {
  assertUniqueKeys(rows.map((r) => `${r.listingId} @ ${r.modelVersion}`), 'Prediction');
  for (const part of chunk(rows, VECTORS_PER_STATEMENT)) {
    const params: unknown[] = [];
    for (const r of part) {
      params.push(r.listingId, r.modelVersion, r.category, r.categoryCode,
        toArrayRecv(r.probabilities, `The probabilities of ${r.listingId}`), r.modality,
        toArrayRecv(r.embedding, `The prediction embedding of ${r.listingId}`));
    }
    await db.query(
      `INSERT INTO predictions AS p (listing_id, model_version, category, category_code, probabilities, modality, embedding)
       VALUES ${valuesPlaceholders(part.length, ['text', 'text', 'text', 'int', 'real[]', 'text', 'real[]'])}
       ON CONFLICT (listing_id, model_version) DO UPDATE SET
         category = EXCLUDED.category, category_code = EXCLUDED.category_code, probabilities = EXCLUDED.probabilities,
         modality = EXCLUDED.modality, embedding = EXCLUDED.embedding, created_at = now()
       WHERE (p.category, p.category_code, p.probabilities, p.modality, p.embedding)
             IS DISTINCT FROM (EXCLUDED.category, EXCLUDED.category_code, EXCLUDED.probabilities, EXCLUDED.modality, EXCLUDED.embedding)`,
      params,
    );
  }
}

// The infer pool's write: stored only while the listing still has the content the job classified,
// checked in the same statement (FOR SHARE, as embeddings-repo.ts's guarded writes). Without it, an
// infer job for old content finishing after the new content's flow could leave the old prediction.
const PREDICTION_IF_CURRENT = prepared(`
WITH current AS (SELECT 1 FROM listings WHERE id = $1 AND content_hash = $8 FOR SHARE),
written AS (
  INSERT INTO predictions AS p (listing_id, model_version, category, category_code, probabilities, modality, embedding)
  SELECT $1, $2, $3, $4::int, $5::real[], $6, $7::real[] FROM current
  ON CONFLICT (listing_id, model_version) DO UPDATE SET
    category = EXCLUDED.category, category_code = EXCLUDED.category_code, probabilities = EXCLUDED.probabilities,
    modality = EXCLUDED.modality, embedding = EXCLUDED.embedding, created_at = now()
  WHERE (p.category, p.category_code, p.probabilities, p.modality, p.embedding)
        IS DISTINCT FROM (EXCLUDED.category, EXCLUDED.category_code, EXCLUDED.probabilities, EXCLUDED.modality, EXCLUDED.embedding)
  RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM current) AS current`);

/** Stores one listing's prediction; false (nothing written) when the listing's content has moved on. */
export async function upsertPredictionIfCurrent(db: Queryable, content: ListingContent, r: PredictionInput): Promise<boolean> {
  if (r.listingId !== content.listingId) throw new Error(`A prediction of ${r.listingId} was guarded by listing ${content.listingId}.`);
  const { rows } = await db.query<{ current: boolean }>(PREDICTION_IF_CURRENT, [
    r.listingId, r.modelVersion, r.category, r.categoryCode,
    toArrayRecv(r.probabilities, `The probabilities of ${r.listingId}`), r.modality,
    toArrayRecv(r.embedding, `The prediction embedding of ${r.listingId}`), content.contentHash,
  ]);
  return rows[0]?.current ?? false;
}

/** Predictions of one model version for these listings, by listing id; ids without one are absent. */
export async function getPredictions(db: Queryable, modelVersion: string, listingIds: readonly string[]): Promise<Map<string, PredictionRow>> {
  const out = new Map<string, PredictionRow>();
  if (listingIds.length === 0) return out;
  const { rows } = await db.query(
    `SELECT ${COLUMNS}, ${EMBEDDING} FROM predictions WHERE model_version = $1 AND listing_id = ANY($2::text[])`,
    [modelVersion, listingIds],
  );
  for (const r of rows) out.set(r.listing_id as string, toPrediction(r));
  return out;
}

/** The most recent prediction for a listing from any model version (for GET /listings/:id). */
export async function getLatestPrediction(db: Queryable, listingId: string): Promise<PredictionRow | null> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS}, ${EMBEDDING} FROM predictions WHERE listing_id = $1 ORDER BY created_at DESC, model_version DESC LIMIT 1`,
    [listingId],
  );
  return rows[0] ? toPrediction(rows[0]) : null;
}

/**
 * One page of a model version's predictions in listing id order (for building a similarity index);
 * pass the last listing id as afterListingId for the next page. withEmbedding=false leaves
 * `embedding` empty to save transfer.
 */
export async function listPredictions(
  db: Queryable,
  modelVersion: string,
  page: { afterListingId?: string; limit?: number; withEmbedding?: boolean } = {},
): Promise<PredictionRow[]> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS}${page.withEmbedding === false ? '' : `, ${EMBEDDING}`} FROM predictions
     WHERE model_version = $1 AND listing_id > $2 ORDER BY listing_id LIMIT $3`,
    [modelVersion, page.afterListingId ?? '', page.limit ?? 1000],
  );
  return rows.map(toPrediction);
}

/** How many listings a model version put in each category, largest first. */
export async function categoryMix(db: Queryable, modelVersion: string): Promise<{ category: string; count: number }[]> {
  const { rows } = await db.query<{ category: string; count: number }>(
    `SELECT category, count(*) AS count FROM predictions WHERE model_version = $1
     GROUP BY category ORDER BY count(*) DESC, category`,
    [modelVersion],
  );
  return rows;
}
