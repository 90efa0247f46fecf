// Listings: batched idempotent upserts that report which listings need (re)processing, and status
// updates guarded by content hash so a stale job cannot overwrite the state of newer content.
import { assertUniqueKeys, chunk, countsByKey, ROWS_PER_STATEMENT } from './batch.js';
import type { Queryable } from './pool.js';

export const LISTING_STATUSES = ['pending', 'processed', 'failed', 'skipped'] as const;
export type ListingStatus = (typeof LISTING_STATUSES)[number];

export interface ListingInput {
  id: string;
  nameRaw: string;
  name: string;
  descriptionRaw: string;
  /** Cleaned name + description, the text the models read. */
  modelText: string;
  /** null when the price string could not be parsed. */
  price: number | null;
  priceRaw: string;
  location: string;
  categoryPath: string | null;
  label: string | null;
  createTime: Date | null;
  imageCount: number;
  /** Hash of everything the pipeline reads; a change requeues the listing. */
  contentHash: string;
  /** Who supplied this content: 'backfill', 'webhook', ... */
  source: string;
}

export interface ListingRow extends ListingInput {
  status: ListingStatus;
  statusReason: string | null;
  /** The run that last (re)queued this listing; unchanged listings keep their old run. */
  lastRunId: number | null;
  createdAt: Date;
  updatedAt: Date;
  /** When the listing last reached processed/failed/skipped; null while pending. */
  processedAt: Date | null;
}

/** Listing ids by what the upsert found; inserted + changed is the work to enqueue. */
export interface UpsertOutcome {
  inserted: string[];
  changed: string[];
  unchanged: string[];
}

export interface UpsertListingsOptions {
  /** Also requeue listings that failed with unchanged content (default false: failures are terminal). */
  retryFailed?: boolean;
}

const CONTENT_COLUMNS = [
  'name_raw', 'name', 'description_raw', 'model_text', 'price', 'price_raw', 'location',
  'category_path', 'label', 'create_time', 'image_count',
] as const;
const contentTuple = (alias: string) => `(${CONTENT_COLUMNS.map((c) => `${alias}.${c}`).join(', ')})`;

// One statement per chunk. `prev` reads the rows as they were before this statement (all CTEs share
// one snapshot), which is what the outcome is computed from. The ON CONFLICT ... WHERE skips rows with
// nothing new, so rerunning an unchanged catalogue writes nothing.
// Same content, but the listing is to be worked on again: a failed one when retrying failures ($16), and
// a skipped one always, because whether a listing is skipped (a duplicate) is decided again on every
// submit: a duplicate whose original was edited or dropped is processed now, and one that is still a
// duplicate is marked skipped again by the caller in the same transaction.
const REOPEN = (alias: string) => `(($16 AND ${alias}.status = 'failed') OR ${alias}.status = 'skipped')`;

/**
 * The listing upsert as CTEs (input, prev, upserted, outcomes(id, outcome, revision, same_content)) over
 * parameters $1..$16, so that a caller can add statements on `outcomes` and still send one statement
 * (see submit-repo.ts).
 */
export const LISTING_UPSERT_CTES = `
input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::text[],
                       $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::int[], $13::text[], $14::text[])
    AS t(id, name_raw, name, description_raw, model_text, price, price_raw, location,
         category_path, label, create_time, image_count, content_hash, source)
),
prev AS (
  SELECT l.id, l.content_hash, l.status, l.revision FROM listings l JOIN input USING (id)
),
upserted AS (
  INSERT INTO listings AS l (id, ${CONTENT_COLUMNS.join(', ')}, content_hash, source, status, last_run_id)
  SELECT id, ${CONTENT_COLUMNS.join(', ')}, content_hash, source, 'pending', $15::bigint FROM input
  ON CONFLICT (id) DO UPDATE SET
    ${CONTENT_COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')},
    content_hash  = EXCLUDED.content_hash,
    -- Counts content changes only (migration 0004): job ids carry it, see jobIds in queues/registry.ts.
    revision      = CASE WHEN l.content_hash <> EXCLUDED.content_hash THEN l.revision + 1 ELSE l.revision END,
    source        = CASE WHEN l.content_hash <> EXCLUDED.content_hash THEN EXCLUDED.source ELSE l.source END,
    status        = CASE WHEN l.content_hash <> EXCLUDED.content_hash OR ${REOPEN('l')} THEN 'pending' ELSE l.status END,
    status_reason = CASE WHEN l.content_hash <> EXCLUDED.content_hash OR ${REOPEN('l')} THEN NULL ELSE l.status_reason END,
    processed_at  = CASE WHEN l.content_hash <> EXCLUDED.content_hash OR ${REOPEN('l')} THEN NULL ELSE l.processed_at END,
    last_run_id   = CASE WHEN l.content_hash <> EXCLUDED.content_hash OR ${REOPEN('l')} OR l.status = 'pending'
                         THEN EXCLUDED.last_run_id ELSE l.last_run_id END,
    updated_at    = now()
  WHERE l.content_hash <> EXCLUDED.content_hash
     OR ${REOPEN('l')}
     OR (l.status = 'pending' AND l.last_run_id IS DISTINCT FROM EXCLUDED.last_run_id)
     OR ${contentTuple('l')} IS DISTINCT FROM ${contentTuple('EXCLUDED')}
  RETURNING l.id, l.revision
),
outcomes AS (
  SELECT i.id,
         CASE WHEN p.id IS NULL THEN 'inserted'
              WHEN p.content_hash <> i.content_hash OR p.status = 'pending' OR ${REOPEN('p')} THEN 'changed'
              ELSE 'unchanged' END AS outcome,
         -- The revision after this statement: the written row's, else (nothing written) the stored one.
         COALESCE(u.revision, p.revision, 0) AS revision,
         -- Stored before with this very content: work on it is asked for again (still pending, or a retry).
         COALESCE(p.content_hash = i.content_hash, false) AS same_content
  FROM input i LEFT JOIN prev p USING (id) LEFT JOIN upserted u USING (id)
)`;
const UPSERT_SQL = `WITH ${LISTING_UPSERT_CTES} SELECT id, outcome FROM outcomes`;

/** The 16 parameters of LISTING_UPSERT_CTES for one chunk. */
export function listingUpsertParams(part: readonly ListingInput[], runId: number | null, retryFailed: boolean): unknown[] {
  return [
    part.map((l) => l.id), part.map((l) => l.nameRaw), part.map((l) => l.name), part.map((l) => l.descriptionRaw),
    part.map((l) => l.modelText), part.map((l) => l.price), part.map((l) => l.priceRaw), part.map((l) => l.location),
    part.map((l) => l.categoryPath), part.map((l) => l.label), part.map((l) => l.createTime),
    part.map((l) => l.imageCount), part.map((l) => l.contentHash), part.map((l) => l.source),
    runId, retryFailed,
  ];
}

/**
 * Inserts or updates listings in batches. New content (a different hash) resets the listing to
 * pending; the same content keeps its status. Returns which ids are new, changed or still pending
 * (work to do) and which are already done.
 */
export async function upsertListings(
  db: Queryable,
  listings: readonly ListingInput[],
  runId: number | null,
  options: UpsertListingsOptions = {},
): Promise<UpsertOutcome> {
  assertUniqueKeys(listings.map((l) => l.id), 'Listing id');
  const outcome: UpsertOutcome = { inserted: [], changed: [], unchanged: [] };
  for (const part of chunk(listings, ROWS_PER_STATEMENT)) {
    const { rows } = await db.query<{ id: string; outcome: keyof UpsertOutcome }>(UPSERT_SQL, listingUpsertParams(part, runId, options.retryFailed ?? false));
    for (const row of rows) outcome[row.outcome].push(row.id);
  }
  return outcome;
}

async function setStatus(db: Queryable, id: string, contentHash: string, status: ListingStatus, reason: string | null) {
  const { rowCount } = await db.query(
    `UPDATE listings SET status = $3, status_reason = $4, processed_at = now(), updated_at = now()
     WHERE id = $1 AND content_hash = $2`,
    [id, contentHash, status, reason],
  );
  return (rowCount ?? 0) > 0;
}

/** The content a pipeline job was enqueued for: its listing and that listing's content hash then. */
export interface ListingContent {
  listingId: string;
  contentHash: string;
}

/** Whether the listing still has this content (false once it was edited, or when it is gone). */
export async function isCurrentContent(db: Queryable, content: ListingContent): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM listings WHERE id = $1 AND content_hash = $2', [content.listingId, content.contentHash]);
  return rows.length > 0;
}

/** Marks a listing processed; false (and nothing written) when its content has since changed. */
export function markProcessed(db: Queryable, id: string, contentHash: string): Promise<boolean> {
  return setStatus(db, id, contentHash, 'processed', null);
}

/** Records a permanent failure with a reason a person can act on; false when the content changed since. */
export function markFailed(db: Queryable, id: string, contentHash: string, reason: string): Promise<boolean> {
  return setStatus(db, id, contentHash, 'failed', reason);
}

/** Records that a listing was deliberately not processed, and why; false when the content changed since. */
export function markSkipped(db: Queryable, id: string, contentHash: string, reason: string): Promise<boolean> {
  return setStatus(db, id, contentHash, 'skipped', reason);
}

/** markProcessed for a whole inference batch in one round trip; returns the ids actually updated. */
export async function markProcessedMany(db: Queryable, items: readonly { id: string; contentHash: string }[]): Promise<string[]> {
  const updated: string[] = [];
  for (const part of chunk(items, ROWS_PER_STATEMENT)) {
    const { rows } = await db.query<{ id: string }>(
      `UPDATE listings l SET status = 'processed', status_reason = NULL, processed_at = now(), updated_at = now()
       FROM unnest($1::text[], $2::text[]) AS t(id, content_hash)
       WHERE l.id = t.id AND l.content_hash = t.content_hash
       RETURNING l.id`,
      [part.map((i) => i.id), part.map((i) => i.contentHash)],
    );
    updated.push(...rows.map((r) => r.id));
  }
  return updated;
}

type DbListing = Record<string, unknown>;

function toListing(r: DbListing): ListingRow {
  return {
    id: r.id as string,
    nameRaw: r.name_raw as string,
    name: r.name as string,
    descriptionRaw: r.description_raw as string,
    modelText: r.model_text as string,
    price: r.price as number | null,
    priceRaw: r.price_raw as string,
    location: r.location as string,
    categoryPath: r.category_path as string | null,
    label: r.label as string | null,
    createTime: r.create_time as Date | null,
    imageCount: r.image_count as number,
    contentHash: r.content_hash as string,
    source: r.source as string,
    status: r.status as ListingStatus,
    statusReason: r.status_reason as string | null,
    lastRunId: r.last_run_id as number | null,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
    processedAt: r.processed_at as Date | null,
  };
}

export async function getListing(db: Queryable, id: string): Promise<ListingRow | null> {
  const { rows } = await db.query('SELECT * FROM listings WHERE id = $1', [id]);
  return rows[0] ? toListing(rows[0]) : null;
}

/** Listings by id in one round trip (missing ids are simply absent), ordered by id. */
export async function getListings(db: Queryable, ids: readonly string[]): Promise<ListingRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query('SELECT * FROM listings WHERE id = ANY($1::text[]) ORDER BY id', [ids]);
  return rows.map(toListing);
}

export async function countByStatus(db: Queryable): Promise<Record<ListingStatus, number>> {
  const { rows } = await db.query<{ key: string; count: number }>(
    'SELECT status AS key, count(*) AS count FROM listings GROUP BY status',
  );
  return countsByKey(LISTING_STATUSES, rows);
}
