// Turns low-level connection failures into sentences an operator can act on. Pure: no pg import.
import { redactUrl as redactAnyUrl } from '../redact-url.js';

/** Thrown when Postgres cannot be reached or the database is missing; the message says how to fix it. */
export class DbUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DbUnavailableError';
  }
}

/** The URL with its password removed, safe for logs and error messages. */
export function redactUrl(url: string): string {
  return redactAnyUrl(url, 'DATABASE_URL');
}

const START_HINT =
  'Start Postgres with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` ' +
  '(local cluster) or `docker compose up -d postgres`, or point DATABASE_URL at a running server.';

// Node reports refused connections either directly or, when a host name resolves to several
// addresses, as an AggregateError whose parts carry the code.
function errorCodes(err: unknown): string[] {
  if (typeof err !== 'object' || err === null) return [];
  const codes: string[] = [];
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') codes.push(code);
  const inner = (err as { errors?: unknown }).errors;
  if (Array.isArray(inner)) for (const e of inner) codes.push(...errorCodes(e));
  return codes;
}

/**
 * Returns a DbUnavailableError for errors that mean "the server is not there" (or the database does
 * not exist), and the original error otherwise.
 */
export function translateConnectionError(err: unknown, databaseUrl: string): unknown {
  if (err instanceof DbUnavailableError) return err;
  const codes = errorCodes(err);
  const url = redactUrl(databaseUrl);
  if (codes.some((c) => c === 'ECONNREFUSED' || c === 'ENOENT')) {
    return new DbUnavailableError(`Could not connect to Postgres at ${url}: the connection was refused. ${START_HINT}`, {
      cause: err,
    });
  }
  if (codes.some((c) => c === 'ENOTFOUND' || c === 'EAI_AGAIN')) {
    return new DbUnavailableError(
      `Could not connect to Postgres at ${url}: the host name does not resolve. Check the host in DATABASE_URL.`,
      { cause: err },
    );
  }
  if (codes.includes('3D000')) {
    return new DbUnavailableError(
      `Postgres at ${url} is running but the database does not exist. Create it (for example ` +
        '`createdb -h HOST -U USER NAME`) or fix the database name in DATABASE_URL.',
      { cause: err },
    );
  }
  if (codes.includes('57P03')) {
    return new DbUnavailableError(
      `Postgres at ${url} is still starting up or shutting down. Wait a few seconds and try again. ${START_HINT}`,
      { cause: err },
    );
  }
  return err;
}

/** Thrown when Postgres cancelled a statement that ran longer than DB_STATEMENT_TIMEOUT_MS. */
export class DbStatementTimeoutError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DbStatementTimeoutError';
  }
}

/**
 * Names the setting behind Postgres' "canceling statement due to statement timeout" (SQLSTATE 57014,
 * which a manual pg_cancel_backend shares, so the message decides); other errors pass through.
 */
export function translateStatementTimeout(err: unknown, timeoutMs: number): unknown {
  if (typeof err !== 'object' || err === null) return err;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (code !== '57014' || typeof message !== 'string' || !message.includes('statement timeout')) return err;
  return new DbStatementTimeoutError(
    `Postgres cancelled a statement after DB_STATEMENT_TIMEOUT_MS (${timeoutMs} ms). A lock held elsewhere or an ` +
      'overloaded server is the usual cause (see pg_stat_activity); raise DB_STATEMENT_TIMEOUT_MS only for a known long statement.',
    { cause: err },
  );
}
