// The one Postgres connection pool per process. Every connection gets search_path = DB_SCHEMA as a
// startup option, so any pooled client (not just the first) sees the right tables.
import pg from 'pg';
import type { Config } from '../config.js';
import { translateConnectionError, translateStatementTimeout } from './errors.js';
import { queryConfig, type Sql } from './prepared.js';
import { parseFloat4Array } from './vectors.js';

export type DbConfig = Pick<Config, 'DATABASE_URL' | 'DB_SCHEMA' | 'DB_POOL_MAX' | 'DB_STATEMENT_TIMEOUT_MS'>;

/** A row as returned by a query; column names are Postgres' (lower_snake_case). */
export type Row = Record<string, unknown>;

export interface QueryResult<R extends Row = Row> {
  rows: R[];
  rowCount: number | null;
}

/** Anything repositories can run SQL on: the pool wrapper or a client inside a transaction. */
export interface Queryable {
  /** `sql` is text, or a prepared() statement for hot paths. */
  query<R extends Row = Row>(sql: Sql, values?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface Db extends Queryable {
  /** The underlying pool, for the rare caller that needs pool statistics. */
  readonly pool: pg.Pool;
  /** Runs fn inside BEGIN/COMMIT on one client; rolls back and rethrows if fn throws. */
  withTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs fn on one dedicated connection outside any transaction, then closes that connection instead
   * of returning it to the pool: session-level state (an advisory lock, a SET) ends with fn, whatever
   * fn did or failed to undo.
   */
  withSession<T>(fn: (session: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface CreateDbOptions {
  /** Shown in pg_stat_activity, e.g. "infer-worker". */
  applicationName?: string;
  /** Called when a pooled connection is lost (server restart, failover), idle or checked out; it is replaced, never reused. */
  onIdleClientError?: (err: Error) => void;
}

const OID = { int8: 20, numeric: 1700, float4Array: 1021 } as const;

// numeric (prices) and int8 (identity ids, count(*)) come back as JS numbers: the values here stay
// far below 2^53. real[] comes back as Float32Array, the type the models use.
const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === undefined || format === 'text') {
      if (oid === OID.int8 || oid === OID.numeric) return (v: string) => Number(v);
      if (oid === OID.float4Array) return parseFloat4Array;
    }
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Connection settings shared by the pool and the migrator's single client. statementTimeoutMs 0 (the
 * migrator's) sets no limit.
 */
export function clientConfig(
  config: Pick<Config, 'DATABASE_URL' | 'DB_SCHEMA'>,
  applicationName?: string,
  statementTimeoutMs = 0,
): pg.ClientConfig {
  // pg lets an `options` query parameter in the URL replace the explicit one, which would silently
  // drop search_path; so merge the URL's options into ours and take them out of the URL.
  const url = new URL(config.DATABASE_URL);
  const urlOptions = url.searchParams.get('options');
  url.searchParams.delete('options');
  return {
    connectionString: urlOptions === null ? config.DATABASE_URL : url.toString(),
    // DB_SCHEMA is validated as a plain lower-case identifier by src/config.ts, so it needs no quoting.
    options: [urlOptions, `-c search_path=${config.DB_SCHEMA}`].filter(Boolean).join(' '),
    types: typeParsers,
    application_name: applicationName ?? 'listing-pipeline',
    // Without a timeout a black-holed host hangs forever; 30 s also covers waiting for a busy pool.
    connectionTimeoutMillis: 30_000,
    // Sent as session settings at connect. A transaction left open by a stuck caller holds its row
    // locks; the server ends such a session after the same time, rather than leaving it to block writers.
    ...(statementTimeoutMs > 0
      ? { statement_timeout: statementTimeoutMs, idle_in_transaction_session_timeout: statementTimeoutMs }
      : {}),
  };
}

export function createDb(config: DbConfig, options: CreateDbOptions = {}): Db {
  const pool = new pg.Pool({
    ...clientConfig(config, options.applicationName, config.DB_STATEMENT_TIMEOUT_MS),
    max: config.DB_POOL_MAX,
  });
  // An idle client losing its server must not crash the process (pg emits 'error' on the pool);
  // the next query simply gets a fresh connection or a translated error.
  pool.on('error', (err) => options.onIdleClientError?.(err));
  const translate = (err: unknown) =>
    translateStatementTimeout(translateConnectionError(err, config.DATABASE_URL), config.DB_STATEMENT_TIMEOUT_MS);
  let closed = false;

  const query = async <R extends Row = Row>(sql: Sql, values?: readonly unknown[]): Promise<QueryResult<R>> => {
    try {
      return await pool.query<R>(queryConfig(sql, values));
    } catch (err) {
      throw translate(err);
    }
  };

  // pg-pool takes its own 'error' listener off a client while it is checked out, so a connection that
  // drops between two queries of a transaction or a session (server restart, failover,
  // pg_terminate_backend) would emit an unhandled 'error' and crash the process. Each checked-out client
  // gets a listener until it is released; the lost connection then surfaces as the next query's error.
  const connect = async (): Promise<{ client: pg.PoolClient; release: (destroy?: Error | boolean) => void }> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw translate(err);
    }
    const onError = (err: Error) => options.onIdleClientError?.(err);
    client.on('error', onError);
    return {
      client,
      release: (destroy) => {
        client.off('error', onError);
        client.release(destroy);
      },
    };
  };

  return {
    pool,
    query,
    async withTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const { client, release } = await connect();
      const tx: Queryable = {
        query: async <R extends Row = Row>(sql: Sql, values?: readonly unknown[]) =>
          client.query<R>(queryConfig(sql, values)),
      };
      let broken: unknown;
      try {
        await client.query('BEGIN');
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          // The connection itself is gone; hand it back destroyed rather than reuse it.
          broken = rollbackErr;
        }
        throw translate(err);
      } finally {
        release(broken instanceof Error ? broken : undefined);
      }
    },
    async withSession<T>(fn: (session: Queryable) => Promise<T>): Promise<T> {
      const { client, release } = await connect();
      const session: Queryable = {
        query: async <R extends Row = Row>(sql: Sql, values?: readonly unknown[]) => {
          try {
            return await client.query<R>(queryConfig(sql, values));
          } catch (err) {
            throw translate(err);
          }
        },
      };
      try {
        return await fn(session);
      } finally {
        release(true);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
