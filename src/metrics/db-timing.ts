// Postgres write latency without touching every repository: the process's Db is wrapped once, and
// each INSERT/UPDATE/DELETE is timed under an operation label such as "insert_images". The label is
// the verb and the table, which come from the code's SQL, never from data, so it stays bounded.
import type { Db, Queryable, QueryResult, Row } from '../db/pool.js';
import type { Sql } from '../db/prepared.js';
import type { Metrics } from './registry.js';

const WRITE = /\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([a-z_][a-z0-9_]{0,40})\b/i;

/** "insert_listings" for a write statement, null for a read. */
export function writeOperation(sql: string): string | null {
  // Only the statement's own text counts; a comment mentioning UPDATE must not make a read a write.
  const code = sql.replace(/--[^\n]*/g, ' ');
  const m = WRITE.exec(code);
  if (!m) return null;
  const verb = m[1]!.split(/\s+/)[0]!.toLowerCase();
  return `${verb}_${m[2]!.toLowerCase()}`;
}

/** Times one write under an explicit operation name (for callers outside the wrapped Db). */
export async function timeDbWrite<T>(metrics: Pick<Metrics, 'dbWrite'>, operation: string, fn: () => Promise<T>): Promise<T> {
  const end = metrics.dbWrite.startTimer({ operation });
  try {
    return await fn();
  } finally {
    end();
  }
}

function timedQueryable(inner: Queryable, metrics: Pick<Metrics, 'dbWrite'>): Queryable {
  return {
    query<R extends Row = Row>(sql: Sql, values?: readonly unknown[]): Promise<QueryResult<R>> {
      const op = writeOperation(typeof sql === 'string' ? sql : sql.text);
      return op ? timeDbWrite(metrics, op, () => inner.query<R>(sql, values)) : inner.query<R>(sql, values);
    },
  };
}

/** The same Db with its writes timed in listing_pipeline_db_write_seconds{operation}, and its pool reported. */
export function instrumentDb(db: Db, metrics: Pick<Metrics, 'dbWrite' | 'sources'>): Db {
  metrics.sources.dbPool = db.pool;
  const timed = timedQueryable(db, metrics);
  return {
    pool: db.pool,
    query: timed.query,
    // Statements inside a transaction or session are timed one by one; the whole is not, since a
    // session (the nightly lock's) stays open for a whole run.
    withTransaction: (fn) => db.withTransaction((tx) => fn(timedQueryable(tx, metrics))),
    withSession: (fn) => db.withSession((session) => fn(timedQueryable(session, metrics))),
    close: () => db.close(),
  };
}
