// Runs (one per backfill / nightly job) and the catalogue rows each run rejected.
import { assertUniqueKeys, chunk, ROWS_PER_STATEMENT } from './batch.js';
import type { Queryable } from './pool.js';

export type RunStatus = 'running' | 'finished' | 'failed';
export type JsonObject = Record<string, unknown>;

export interface RunRow {
  id: number;
  /** 'backfill', 'nightly', ... */
  kind: string;
  /** Catalogue path, or 'builtin'. */
  source: string;
  startedAt: Date;
  finishedAt: Date | null;
  status: RunStatus;
  error: string | null;
  options: JsonObject;
  counts: JsonObject;
}

export interface RowReject {
  file: string;
  /** 1-based line (or record) number in the file. */
  line: number;
  reason: string;
  /** The start of the offending row, for a person to look at. */
  excerpt?: string | null;
}

function toRun(r: Record<string, unknown>): RunRow {
  return {
    id: r.id as number,
    kind: r.kind as string,
    source: r.source as string,
    startedAt: r.started_at as Date,
    finishedAt: r.finished_at as Date | null,
    status: r.status as RunStatus,
    error: r.error as string | null,
    options: r.options as JsonObject,
    counts: r.counts as JsonObject,
  };
}

// JSON is passed as text: pg would turn a JS array into a Postgres array literal, not JSON.
const json = (value: JsonObject) => JSON.stringify(value);

export async function startRun(db: Queryable, run: { kind: string; source: string; options?: JsonObject }): Promise<RunRow> {
  const { rows } = await db.query(
    'INSERT INTO runs (kind, source, options) VALUES ($1, $2, $3::jsonb) RETURNING *',
    [run.kind, run.source, json(run.options ?? {})],
  );
  return toRun(rows[0] as Record<string, unknown>);
}

async function endRun(db: Queryable, id: number, status: Exclude<RunStatus, 'running'>, counts: JsonObject | null, error: string | null) {
  // Ending twice (a retried shutdown) keeps the first finish time.
  const { rows } = await db.query(
    `UPDATE runs SET status = $2, error = $3, counts = COALESCE($4::jsonb, counts),
       finished_at = COALESCE(finished_at, now())
     WHERE id = $1 RETURNING *`,
    [id, status, error, counts === null ? null : json(counts)],
  );
  if (!rows[0]) throw new Error(`Run ${id} does not exist, so it cannot be marked ${status}; was the schema reset while it ran?`);
  return toRun(rows[0]);
}

/** Marks a run finished with its final counts (done / skipped / failed / rejected ...). */
export function finishRun(db: Queryable, id: number, counts: JsonObject): Promise<RunRow> {
  return endRun(db, id, 'finished', counts, null);
}

/** Marks a run failed with the reason; counts so far are kept when given. */
export function failRun(db: Queryable, id: number, error: string, counts?: JsonObject): Promise<RunRow> {
  return endRun(db, id, 'failed', counts ?? null, error);
}

export async function getRun(db: Queryable, id: number): Promise<RunRow | null> {
  const { rows } = await db.query('SELECT * FROM runs WHERE id = $1', [id]);
  return rows[0] ? toRun(rows[0]) : null;
}

/** The most recently started run, optionally of one kind. */
export async function latestRun(db: Queryable, kind?: string): Promise<RunRow | null> {
  const { rows } = await db.query(
    'SELECT * FROM runs WHERE $1::text IS NULL OR kind = $1 ORDER BY started_at DESC, id DESC LIMIT 1',
    [kind ?? null],
  );
  return rows[0] ? toRun(rows[0]) : null;
}

/** The most recently started runs, newest first, optionally of one kind. */
export async function listRuns(db: Queryable, opts: { limit: number; kind?: string }): Promise<RunRow[]> {
  const { rows } = await db.query(
    'SELECT * FROM runs WHERE $1::text IS NULL OR kind = $1 ORDER BY started_at DESC, id DESC LIMIT $2',
    [opts.kind ?? null, opts.limit],
  );
  return rows.map(toRun);
}

/** Records rejected rows in batches; recording the same (file, line) again updates its reason. */
export async function recordRowRejects(db: Queryable, runId: number, rejects: readonly RowReject[]): Promise<number> {
  assertUniqueKeys(rejects.map((r) => `${r.file}:${r.line}`), 'Rejected row');
  let written = 0;
  for (const part of chunk(rejects, ROWS_PER_STATEMENT)) {
    const { rowCount } = await db.query(
      `INSERT INTO row_rejects (run_id, file, line, reason, excerpt)
       SELECT $1, * FROM unnest($2::text[], $3::int[], $4::text[], $5::text[])
       ON CONFLICT (run_id, file, line) DO UPDATE SET reason = EXCLUDED.reason, excerpt = EXCLUDED.excerpt`,
      [runId, part.map((r) => r.file), part.map((r) => r.line), part.map((r) => r.reason), part.map((r) => r.excerpt ?? null)],
    );
    written += rowCount ?? 0;
  }
  return written;
}

export async function rowRejectsForRun(
  db: Queryable,
  runId: number,
  limit = 100,
): Promise<{ total: number; rejects: RowReject[] }> {
  const { rows } = await db.query<{ file: string; line: number; reason: string; excerpt: string | null; total: number }>(
    `SELECT file, line, reason, excerpt, count(*) OVER () AS total FROM row_rejects
     WHERE run_id = $1 ORDER BY file, line LIMIT $2`,
    [runId, limit],
  );
  return { total: rows[0]?.total ?? 0, rejects: rows.map(({ file, line, reason, excerpt }) => ({ file, line, reason, excerpt })) };
}
