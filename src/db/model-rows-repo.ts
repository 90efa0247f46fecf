// The rows a model version owns: embeddings (keyed by encoder version, out-of-fold ones by
// "<version>#oof") and predictions (keyed by classifier version). `models prune` deletes them with the
// model; until then nothing does.
import type { Queryable } from './pool.js';

/** Rows per DELETE: each statement stays short under DB_STATEMENT_TIMEOUT_MS however many rows a version has. */
const DELETE_BATCH = 5000;

type ModelTable = 'text_embeddings' | 'image_embeddings' | 'predictions';

async function deleteInBatches(db: Queryable, table: ModelTable, versions: readonly string[]): Promise<number> {
  let total = 0;
  for (;;) {
    // ctid batches: no key column to page by is needed, and each statement holds its locks briefly.
    const { rowCount } = await db.query(
      `DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE model_version = ANY($1::text[]) LIMIT ${DELETE_BATCH})`,
      [versions],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < DELETE_BATCH) return total;
  }
}

export interface DeletedModelRows {
  textEmbeddings: number;
  imageEmbeddings: number;
  predictions: number;
}

/** Deletes every row of these model versions (and of their out-of-fold "#oof" embedding versions). */
export async function deleteModelVersionRows(db: Queryable, versions: readonly string[], oofSuffix: string): Promise<DeletedModelRows> {
  if (versions.length === 0) return { textEmbeddings: 0, imageEmbeddings: 0, predictions: 0 };
  const withOof = [...versions, ...versions.map((v) => v + oofSuffix)];
  return {
    textEmbeddings: await deleteInBatches(db, 'text_embeddings', withOof),
    imageEmbeddings: await deleteInBatches(db, 'image_embeddings', withOof),
    predictions: await deleteInBatches(db, 'predictions', versions),
  };
}

/**
 * Listings predicted by classifier `version` and by none of `kept`: deleting `version`'s rows would leave
 * them with no category at all (as after a `train` whose `classify` has not run yet).
 */
export async function listingsPredictedOnlyBy(db: Queryable, version: string, kept: readonly string[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM predictions p
     WHERE p.model_version = $1
       AND NOT EXISTS (SELECT 1 FROM predictions c WHERE c.listing_id = p.listing_id AND c.model_version = ANY($2::text[]))`,
    [version, kept],
  );
  return rows[0]?.n ?? 0;
}
