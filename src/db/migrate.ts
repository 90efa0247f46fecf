// Applies migrations/NNNN_name.sql in order through node-pg-migrate's programmatic runner. Safe to
// run twice (applied files are recorded in <schema>.schema_migrations) and from several processes at
// once (a Postgres advisory lock, waited for rather than failed on, serialises them per schema). The
// sha256 of every applied file is kept in <schema>.schema_migration_checksums: a file edited after it
// was applied stops migrate with an error instead of being silently skipped.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { PROJECT_ROOT, type Config } from '../config.js';
import { translateConnectionError } from './errors.js';
import { clientConfig } from './pool.js';

export const MIGRATIONS_TABLE = 'schema_migrations';
/** sha256 of each applied migration file, so a file edited after it was applied is noticed (node-pg-migrate keeps names only). */
export const CHECKSUMS_TABLE = 'schema_migration_checksums';
const FILE_NAME = /^(\d{4})_[a-z0-9_]+\.sql$/;

export interface MigrateOptions {
  /** Defaults to <repo>/migrations (also found when running from dist/). */
  migrationsDir?: string;
  /** Receives node-pg-migrate's progress lines; silent by default. */
  log?: (line: string) => void;
}

export interface MigrateResult {
  /** Names of the migrations this call applied, e.g. ["0001_init"]; empty when already up to date. */
  applied: string[];
}

/** The migrations folder: <root>/migrations, or one level further up when running from dist/. */
export function defaultMigrationsDir(): string {
  const candidates = [path.join(PROJECT_ROOT, 'migrations'), path.join(PROJECT_ROOT, '..', 'migrations')];
  const found = candidates.find((dir) => existsSync(dir));
  if (!found) throw new Error(`No migrations folder found (looked in ${candidates.join(' and ')}); run from a checkout of the project or pass migrationsDir.`);
  return found;
}

/**
 * Checks the .sql file names in a migrations folder: each must be NNNN_lower_snake.sql with a unique
 * number, so the order is unambiguous. Returns them sorted; other files (README.md) are ignored.
 */
export function checkMigrationFileNames(fileNames: readonly string[]): string[] {
  const sql = fileNames.filter((f) => f.endsWith('.sql')).sort();
  const seen = new Map<string, string>();
  for (const name of sql) {
    const match = FILE_NAME.exec(name);
    if (!match) {
      throw new Error(`Migration file "${name}" is misnamed; rename it to NNNN_lower_snake_name.sql (four digits, then the next free number).`);
    }
    const num = match[1] as string;
    const other = seen.get(num);
    if (other) throw new Error(`Migrations "${other}" and "${name}" share the number ${num}; give the newer one the next free number.`);
    seen.set(num, name);
  }
  if (sql.length === 0) throw new Error('The migrations folder holds no NNNN_name.sql files; is migrationsDir right?');
  return sql;
}

/** The sha256 of a migration file's text, line endings normalised (a CRLF checkout is the same file). */
export function migrationChecksum(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex');
}

async function tableExists(client: pg.Client, schema: string, table: string): Promise<boolean> {
  const { rows } = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [`${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)}`]);
  return (rows[0] as { present: boolean }).present;
}

/** An applied migration's file no longer matches its recorded checksum; nothing was run. */
export class MigrationEditedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationEditedError';
  }
}

/** Refuses to go on when an applied migration's file no longer matches the checksum recorded when it was applied. */
async function checkAppliedUnchanged(client: pg.Client, schema: string, checksums: ReadonlyMap<string, string>): Promise<void> {
  if (!(await tableExists(client, schema, CHECKSUMS_TABLE))) return;
  const { rows } = await client.query<{ name: string; sha256: string }>(
    `SELECT name, sha256 FROM ${client.escapeIdentifier(schema)}.${CHECKSUMS_TABLE} ORDER BY name`,
  );
  const edited = rows.filter((r) => checksums.has(r.name) && checksums.get(r.name) !== r.sha256).map((r) => `${r.name}.sql`);
  if (edited.length > 0) {
    throw new MigrationEditedError(
      `Migration ${edited.join(', ')} changed after it was applied to schema "${schema}"; applied migrations are never edited. ` +
        'Restore the file as it was (git log -- migrations/) and put the change in a new NNNN_name.sql migration.',
    );
  }
}

/** Records the checksum of every applied migration that has none yet (first run of this check: trusted as they are). */
async function recordChecksums(client: pg.Client, schema: string, checksums: ReadonlyMap<string, string>): Promise<void> {
  const table = `${client.escapeIdentifier(schema)}.${CHECKSUMS_TABLE}`;
  await client.query(`CREATE TABLE IF NOT EXISTS ${table} (name text PRIMARY KEY, sha256 text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())`);
  const { rows } = await client.query<{ name: string }>(`SELECT name FROM ${client.escapeIdentifier(schema)}.${MIGRATIONS_TABLE}`);
  const known = rows.map((r) => r.name).filter((n) => checksums.has(n));
  await client.query(
    `INSERT INTO ${table} (name, sha256) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (name) DO NOTHING`,
    [known, known.map((n) => checksums.get(n))],
  );
}

/** A per-schema advisory lock key (below 2^48, so exact as a JS number), so test schemas don't queue behind each other. */
export function migrationLockKey(schema: string): number {
  return createHash('sha256').update(`listing-pipeline:migrate:${schema}`).digest().readUIntBE(0, 6);
}

export async function migrate(
  config: Pick<Config, 'DATABASE_URL' | 'DB_SCHEMA'>,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const dir = options.migrationsDir ?? defaultMigrationsDir();
  const files = checkMigrationFileNames(readdirSync(dir));
  const checksums = new Map(files.map((f) => [f.replace(/\.sql$/, ''), migrationChecksum(readFileSync(path.join(dir, f), 'utf8'))]));
  const log = options.log ?? (() => {});
  const client = new pg.Client(clientConfig(config, 'listing-pipeline-migrate'));
  try {
    await client.connect();
  } catch (err) {
    throw translateConnectionError(err, config.DATABASE_URL);
  }
  // A dropped connection during migration must surface as the query's error, not crash the process.
  client.on('error', () => {});
  try {
    // The lock is taken here rather than by the runner, so that the checksum check before and the
    // recording after happen under it too. Waited for, not failed on; ends with the connection.
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey(config.DB_SCHEMA)]);
    await checkAppliedUnchanged(client, config.DB_SCHEMA, checksums);
    const ran = await runner({
      dbClient: client,
      dir,
      // Only NNNN_name.sql files are migrations; everything else in the folder is documentation.
      ignorePattern: '(?!\\d{4}_[a-z0-9_]+\\.sql$).*',
      direction: 'up',
      migrationsTable: MIGRATIONS_TABLE,
      schema: config.DB_SCHEMA,
      createSchema: true,
      checkOrder: true,
      // The runner defaults to one transaction per file; all-or-nothing is easier to reason about.
      singleTransaction: true,
      noLock: true,
      logger: { debug: () => {}, info: log, warn: log, error: log },
    });
    await recordChecksums(client, config.DB_SCHEMA, checksums);
    return { applied: ran.map((m) => m.name) };
  } catch (err) {
    if (err instanceof MigrationEditedError) throw err;
    const translated = translateConnectionError(err, config.DATABASE_URL);
    if (translated !== err) throw translated;
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`Migrating schema "${config.DB_SCHEMA}" failed and was rolled back: ${message}. Fix the migration (or the database) and run migrate again.`, { cause: err });
  } finally {
    await client.end().catch(() => {});
  }
}
