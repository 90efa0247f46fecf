// The rows a model version owns: embeddings (keyed by encoder version, out-of-fold ones by
// "<version>#oof") and predictions (keyed by classifier version). `models prune` deletes them with the
// model; until then nothing does.
import type { Queryable } from './pool.js';

/** Parent rows (listings or photos) per DELETE: each statement stays short under DB_STATEMENT_TIMEOUT_MS. */
const PAGE = 5000;

// Each table's key leads with its parent's id (listing_id / image_id, then model_version), so the deletes
// walk the parent table in id pages and hit that index, instead of scanning the whole table once per batch.
const TABLES = {
  text_embeddings: { parent: 'listings', key: 'listing_id' },
  image_embeddings: { parent: 'images', key: 'image_id' },
  predictions: { parent: 'listings', key: 'listing_id' },
} as const;

async function deleteByParentPages(db: Queryable, table: keyof typeof TABLES, versions: readonly string[], pageSize: number): Promise<number> {
  const { parent, key } = TABLES[table];
  let total = 0;
  let afterId = '';
  for (;;) {
    const { rows } = await db.query<{ last: string | null; deleted: number }>(
      `WITH page AS (SELECT id FROM ${parent} WHERE id > $2 ORDER BY id LIMIT $3),
            gone AS (DELETE FROM ${table} t USING page WHERE t.${key} = page.id AND t.model_version = ANY($1::text[]) RETURNING 1)
       SELECT (SELECT max(id) FROM page) AS last, (SELECT count(*)::int FROM gone) AS deleted`,
      [versions, afterId, pageSize],
    );
    const r = rows[0];
    total += r?.deleted ?? 0;
    if (!r || r.last === null) return total;
    afterId = r.last;
  }
}

export interface DeletedModelRows {
  textEmbeddings: number;
  imageEmbeddings: number;
  predictions: number;
}

/** Deletes every row of these model versions (and of their out-of-fold "#oof" embedding versions). */
export async function deleteModelVersionRows(db: Queryable, versions: readonly string[], oofSuffix: string, pageSize = PAGE): Promise<DeletedModelRows> {
  if (versions.length === 0) return { textEmbeddings: 0, imageEmbeddings: 0, predictions: 0 };
  const withOof = [...versions, ...versions.map((v) => v + oofSuffix)];
  return {
    textEmbeddings: await deleteByParentPages(db, 'text_embeddings', withOof, pageSize),
    imageEmbeddings: await deleteByParentPages(db, 'image_embeddings', withOof, pageSize),
    predictions: await deleteByParentPages(db, 'predictions', versions, pageSize),
  };
}

/** Every model version that owns rows, with the out-of-fold suffix taken off (one full read of each table). */
export async function modelVersionsWithRows(db: Queryable, oofSuffix: string): Promise<Set<string>> {
  const { rows } = await db.query<{ v: string }>(
    `SELECT DISTINCT model_version AS v FROM text_embeddings
     UNION SELECT DISTINCT model_version FROM image_embeddings
     UNION SELECT DISTINCT model_version FROM predictions`,
  );
  return new Set(rows.map((r) => (r.v.endsWith(oofSuffix) ? r.v.slice(0, -oofSuffix.length) : r.v)));
}

/**
 * Processed listings predicted by classifier `version` and by none of `kept`: deleting `version`'s rows
 * would leave them with no category at all (as after a `train` whose `classify` has not run yet).
 * Failed and skipped listings are not counted: `classify` never predicts them, so they would keep an old
 * classifier forever.
 */
export async function listingsPredictedOnlyBy(db: Queryable, version: string, kept: readonly string[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM predictions p JOIN listings l ON l.id = p.listing_id AND l.status = 'processed'
     WHERE p.model_version = $1
       AND NOT EXISTS (SELECT 1 FROM predictions c WHERE c.listing_id = p.listing_id AND c.model_version = ANY($2::text[]))`,
    [version, kept],
  );
  return rows[0]?.n ?? 0;
}
