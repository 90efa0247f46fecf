// Storage against the real Postgres: migrations, the pool's search_path, and repository round trips.
// Every test gets its own random schema (test/support/db.ts), dropped afterwards.
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createDb, DbStatementTimeoutError, DbUnavailableError, type Queryable } from '../src/db/index.js';
import { clientConfig } from '../src/db/pool.js';
import * as listings from '../src/db/listings-repo.js';
import * as images from '../src/db/images-repo.js';
import * as runs from '../src/db/runs-repo.js';
import * as embeddings from '../src/db/embeddings-repo.js';
import * as predictions from '../src/db/predictions-repo.js';
import { storeListingsAndRevisions } from '../src/db/submit-repo.js';
import { countWithoutPrediction, listingsWithoutPrediction } from '../src/db/model-inputs-repo.js';
import { LATEST_PREDICTION_VERSION_SQL } from '../src/db/search-repo.js';
import { checkMigrationFileNames, defaultMigrationsDir, migrate } from '../src/db/migrate.js';
import { createTestSchema, type TestSchema } from './support/db.js';

/** The store's listing outcomes (what these tests assert on). */
const storeListingsWithPhotos = async (...args: Parameters<typeof storeListingsAndRevisions>) => (await storeListingsAndRevisions(...args)).outcome;

const ALL_MIGRATIONS = checkMigrationFileNames(readdirSync(defaultMigrationsDir())).map((f) => f.replace(/\.sql$/, ''));

let t: TestSchema;
afterEach(() => t?.drop());

function listing(id: string, over: Partial<listings.ListingInput> = {}): listings.ListingInput {
  return {
    id, nameRaw: `Oak table ${id}`, name: `oak table ${id}`, descriptionRaw: 'Solid oak, "as new"\r\n{a,b}',
    modelText: 'oak table solid oak as new', price: 125.5, priceRaw: '£125.50', location: 'Leeds',
    categoryPath: 'Home & Garden / Tables', label: 'Home & Garden', createTime: new Date('2022-02-26T10:00:00Z'),
    imageCount: 1, contentHash: 'h1', source: 'backfill', ...over,
  };
}

/** Wraps a Queryable and counts statements, to check batching without timing anything. */
function counting(db: Queryable): Queryable & { calls: number } {
  const q = { calls: 0, query: ((sql: Parameters<Queryable['query']>[0], values?: readonly unknown[]) => { q.calls += 1; return db.query(sql, values); }) as Queryable['query'] };
  return q;
}

describe('migrate', () => {
  beforeEach(async () => { t = await createTestSchema({ migrate: false }); });

  it('creates the schema and tables, and a second run applies nothing', async () => {
    expect(ALL_MIGRATIONS[0]).toBe('0001_init');
    expect(await migrate(t.config)).toEqual({ applied: ALL_MIGRATIONS });
    expect(await migrate(t.config)).toEqual({ applied: [] });
    const { rows } = await t.db.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [t.schema]);
    expect(rows.map((r) => r.table_name)).toEqual(
      ['image_embeddings', 'images', 'listings', 'predictions', 'row_rejects', 'runs', 'schema_migration_checksums', 'schema_migrations',
        'text_embeddings', 'uploaded_photos']);
  });

  it('applies each migration once when two callers race', async () => {
    const results = await Promise.all([migrate(t.config), migrate(t.config), migrate(t.config)]);
    expect(results.flatMap((r) => r.applied).sort()).toEqual(ALL_MIGRATIONS);
    const { rows } = await t.db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY id');
    expect(rows.map((r) => r.name)).toEqual(ALL_MIGRATIONS);
  });

  it('refuses to go on when a migration file was edited after it was applied, naming it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    try {
      writeFileSync(path.join(dir, '0001_a.sql'), 'CREATE TABLE a (id int);\n');
      expect(await migrate(t.config, { migrationsDir: dir })).toEqual({ applied: ['0001_a'] });
      // The same text with CRLF line endings (a Windows checkout) is the same migration.
      writeFileSync(path.join(dir, '0001_a.sql'), 'CREATE TABLE a (id int);\r\n');
      expect(await migrate(t.config, { migrationsDir: dir })).toEqual({ applied: [] });
      writeFileSync(path.join(dir, '0001_a.sql'), 'CREATE TABLE a (id bigint);\n');
      writeFileSync(path.join(dir, '0002_b.sql'), 'CREATE TABLE b (id int);\n');
      await expect(migrate(t.config, { migrationsDir: dir })).rejects.toThrow(/Migration 0001_a\.sql changed after it was applied to schema "test_[0-9a-f]+"/);
      // Nothing after it ran either.
      expect((await t.db.query('SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2', [t.schema, 'b'])).rows).toEqual([]);
      writeFileSync(path.join(dir, '0001_a.sql'), 'CREATE TABLE a (id int);\n');
      expect(await migrate(t.config, { migrationsDir: dir })).toEqual({ applied: ['0002_b'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves nothing of a batch behind when one of its migrations fails', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    try {
      writeFileSync(path.join(dir, '0001_a.sql'), 'CREATE TABLE a (id int);\n');
      writeFileSync(path.join(dir, '0002_b.sql'), 'CREATE TABLE b (id int);\nINSERT INTO b VALUES (\'not a number\');\n');
      await expect(migrate(t.config, { migrationsDir: dir })).rejects.toThrow(/failed and was rolled back: .*invalid input syntax for type integer/);
      const { rows } = await t.db.query('SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename IN ($2, $3, $4)', [t.schema, 'a', 'b', 'schema_migration_checksums']);
      expect(rows).toEqual([]);
      expect((await t.db.query('SELECT count(*)::int AS n FROM schema_migrations')).rows[0]).toEqual({ n: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves the search index\'s per-poll "latest model version" read from an index, not a scan and sort', async () => {
    await migrate(t.config);
    // Empty tables: forbid the scan and the sort so the plan shows whether an index can serve the read.
    const plan = await t.db.withTransaction(async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off');
      await tx.query('SET LOCAL enable_sort = off');
      const { rows } = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${LATEST_PREDICTION_VERSION_SQL}`);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index Scan Backward using predictions_created_at_idx/);
    expect(plan).not.toMatch(/Sort/);
  });

  it('0006 gives the text embeddings already stored their listing\'s current content hash', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    try {
      // A database as it stood before 0006, with a listing and its text vector.
      for (const f of ALL_MIGRATIONS.filter((m) => m < '0006')) copyFileSync(path.join(defaultMigrationsDir(), `${f}.sql`), path.join(dir, `${f}.sql`));
      await migrate(t.config, { migrationsDir: dir });
      await t.db.query(`INSERT INTO listings (id, name_raw, name, description_raw, model_text, price_raw, location, content_hash, source)
                        VALUES ('old', 'n', 'n', '', 'n', '', 'Leeds', 'hash-old', 'test')`);
      await t.db.query(`INSERT INTO text_embeddings (listing_id, model_version, vector) VALUES ('old', 'txt@0', '{1,2}')`);
      expect((await migrate(t.config)).applied).toContain('0006_text_embedding_content');
      expect((await embeddings.getTextEmbeddings(t.db, 'txt@0', [{ listingId: 'old', contentHash: 'hash-old' }])).get('old')).toEqual(Float32Array.from([1, 2]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ignores documentation in the folder and refuses misnamed migrations', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    try {
      copyFileSync(path.join(defaultMigrationsDir(), '0001_init.sql'), path.join(dir, '0001_init.sql'));
      writeFileSync(path.join(dir, 'README.md'), 'notes');
      expect(await migrate(t.config, { migrationsDir: dir })).toEqual({ applied: ['0001_init'] });
      writeFileSync(path.join(dir, '2_oops.sql'), 'SELECT 1;');
      await expect(migrate(t.config, { migrationsDir: dir })).rejects.toThrow(/"2_oops.sql" is misnamed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pool', () => {
  beforeEach(async () => { t = await createTestSchema(); });

  it('gives every pooled connection the configured search_path', async () => {
    const clients = await Promise.all([1, 2, 3, 4].map(() => t.db.pool.connect()));
    try {
      const schemas = await Promise.all(clients.map(async (c) => (await c.query('SELECT current_schema() AS s')).rows[0].s));
      expect(schemas).toEqual([t.schema, t.schema, t.schema, t.schema]);
    } finally {
      clients.forEach((c) => c.release());
    }
  });

  it('rolls a failed transaction back', async () => {
    await expect(t.db.withTransaction(async (tx) => {
      await runs.startRun(tx, { kind: 'backfill', source: 'builtin' });
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(await runs.latestRun(t.db)).toBeNull();
  });

  it('cancels a statement that outlives DB_STATEMENT_TIMEOUT_MS with an error naming the setting, and the pool goes on', async () => {
    const db = createDb({ ...t.config, DB_STATEMENT_TIMEOUT_MS: 300 });
    try {
      const err = await db.query('SELECT pg_sleep(5)').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DbStatementTimeoutError);
      expect((err as Error).message).toContain('DB_STATEMENT_TIMEOUT_MS (300 ms)');
      // Inside a transaction too (the error rolls it back), and the connections stay usable.
      const inTx = await db.withTransaction((tx) => tx.query('SELECT pg_sleep(5)')).catch((e: unknown) => e);
      expect(inTx).toBeInstanceOf(DbStatementTimeoutError);
      expect((await db.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n).toBe(1);
      // Within the limit, nothing changes.
      await expect(db.query('SELECT pg_sleep(0.05)')).resolves.toBeDefined();
    } finally {
      await db.close();
    }
  });

  it('turns a row-lock wait held by another session into the same error instead of a held worker slot', async () => {
    await runs.startRun(t.db, { kind: 'backfill', source: 'builtin' });
    const db = createDb({ ...t.config, DB_STATEMENT_TIMEOUT_MS: 300 });
    const holder = await t.db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM runs FOR UPDATE');
      const err = await db.query("UPDATE runs SET source = 'x'").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DbStatementTimeoutError);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
      await db.close();
    }
  });

  it('sets no statement limit for DB_STATEMENT_TIMEOUT_MS=0 or on the migrator connection settings', async () => {
    const db = createDb({ ...t.config, DB_STATEMENT_TIMEOUT_MS: 0 });
    try {
      expect((await db.query<{ s: string }>("SELECT current_setting('statement_timeout') AS s")).rows[0]?.s).toBe('0');
    } finally {
      await db.close();
    }
    expect(clientConfig(t.config, 'm')).not.toHaveProperty('statement_timeout');
    // The default (60 s) on an ordinary pool, transactions left idle included.
    const settings = await t.db.query<{ s: string; i: string }>(
      "SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS i");
    expect(settings.rows[0]).toEqual({ s: '1min', i: '1min' });
  });

  it('explains how to start Postgres when the connection is refused, without the password', async () => {
    const db = createDb({ ...loadConfig(), DATABASE_URL: 'postgres://postgres:s3cret@127.0.0.1:1/postgres' });
    try {
      const err = await db.query('SELECT 1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DbUnavailableError);
      expect((err as Error).message).toContain('pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start');
      expect((err as Error).message).toContain('docker compose up -d postgres');
      expect((err as Error).message).toContain('postgres://postgres@127.0.0.1:1/postgres');
      expect((err as Error).message).not.toContain('s3cret');
    } finally {
      await db.close();
    }
  });
});

describe('repositories', () => {
  beforeEach(async () => { t = await createTestSchema(); });

  it('upserting the same listings twice leaves the same rows', async () => {
    const run = await runs.startRun(t.db, { kind: 'backfill', source: 'builtin' });
    const input = [listing('a'), listing('b', { price: null, priceRaw: 'ask', createTime: null, label: null })];
    expect(await listings.upsertListings(t.db, input, run.id)).toEqual({ inserted: ['a', 'b'], changed: [], unchanged: [] });
    const first = await listings.getListings(t.db, ['a', 'b']);
    // Still pending, so still work to do, but nothing is rewritten.
    expect(await listings.upsertListings(t.db, input, run.id)).toEqual({ inserted: [], changed: ['a', 'b'], unchanged: [] });
    expect(await listings.getListings(t.db, ['a', 'b'])).toEqual(first);
    expect(first[0]).toMatchObject({ ...input[0], status: 'pending', lastRunId: run.id, processedAt: null });
    expect(first[1]).toMatchObject({ price: null, createTime: null, label: null });

    expect(await listings.markProcessed(t.db, 'a', 'h1')).toBe(true);
    expect(await listings.markSkipped(t.db, 'b', 'h1', 'no photos and no text')).toBe(true);
    const done = await listings.getListings(t.db, ['a']);
    // A processed listing stays as it is; a skipped one is submitted again as work (whether it is skipped
    // is decided on every submit, and the submit marks it skipped again when it still is).
    const next = await runs.startRun(t.db, { kind: 'backfill', source: 'builtin' });
    expect(await listings.upsertListings(t.db, input, next.id)).toEqual({ inserted: [], changed: ['b'], unchanged: ['a'] });
    expect(await listings.getListings(t.db, ['a'])).toEqual(done);
    expect(await listings.countByStatus(t.db)).toEqual({ pending: 1, processed: 1, failed: 0, skipped: 0 });
  });

  it('reports a changed content hash as changed, and ignores updates from a stale job', async () => {
    await listings.upsertListings(t.db, [listing('a'), listing('b')], null);
    await listings.markProcessed(t.db, 'a', 'h1');
    await listings.markFailed(t.db, 'b', 'h1', 'every photo failed');
    const out = await listings.upsertListings(t.db, [listing('a', { contentHash: 'h2', name: 'new' }), listing('b')], null);
    expect(out).toEqual({ inserted: [], changed: ['a'], unchanged: ['b'] });
    expect(await listings.getListing(t.db, 'a')).toMatchObject({ status: 'pending', name: 'new', processedAt: null });

    // A job still holding the old hash finishes late: it must not mark the new content done or failed.
    expect(await listings.markProcessed(t.db, 'a', 'h1')).toBe(false);
    expect(await listings.markFailed(t.db, 'a', 'h1', 'late')).toBe(false);
    expect(await listings.getListing(t.db, 'a')).toMatchObject({ status: 'pending', statusReason: null });
    expect(await listings.markProcessedMany(t.db, [{ id: 'a', contentHash: 'h2' }, { id: 'b', contentHash: 'old' }])).toEqual(['a']);

    const retry = await listings.upsertListings(t.db, [listing('b')], null, { retryFailed: true });
    expect(retry.changed).toEqual(['b']);
    expect(await listings.getListing(t.db, 'b')).toMatchObject({ status: 'pending', statusReason: null });
    await expect(listings.upsertListings(t.db, [listing('c'), listing('c')], null)).rejects.toThrow(/appears twice/);
  });

  it('upserts 1,000 listings and images in a few round trips', async () => {
    const many = Array.from({ length: 1000 }, (_, i) => listing(`L${String(i).padStart(4, '0')}`));
    const q = counting(t.db);
    expect((await listings.upsertListings(q, many, null)).inserted).toHaveLength(1000);
    expect((await images.upsertImages(q, many.map((l, i) => ({ id: `I${i}`, listingId: l.id, position: 0, sourceUri: `/x/${i}.jpg` })))).inserted).toHaveLength(1000);
    expect(q.calls).toBeLessThanOrEqual(2);
    expect((await listings.upsertListings(q, many, null)).changed).toHaveLength(1000);
    expect(q.calls).toBeLessThanOrEqual(3);
    expect(await listings.countByStatus(t.db)).toMatchObject({ pending: 1000 });
  });

  it('stores listings with their photos in one statement per call, keeping the outcomes of unchanged ones', async () => {
    const photo = (listingId: string, n: number) => ({ id: `${listingId}-${n}`, listingId, position: n, sourceUri: `https://img.example/${listingId}/${n}.jpg` });
    const q = counting(t.db);
    const first = await storeListingsWithPhotos(q, [{ listing: listing('a'), photos: [photo('a', 0), photo('a', 1)] }, { listing: listing('b'), photos: [] }], null);
    expect(first).toEqual({ inserted: ['a', 'b'], changed: [], unchanged: [] });
    expect(q.calls).toBe(1);
    expect((await images.imagesForListing(t.db, 'a')).map((i) => [i.id, i.status])).toEqual([['a-0', 'pending'], ['a-1', 'pending']]);

    await images.markImageFailed(t.db, 'a-0', 'corrupt', 'not a JPEG');
    await listings.markProcessed(t.db, 'a', 'h1');
    // Same content: nothing is rewritten and the photo outcome stays (the prepared statement is reused).
    expect(await storeListingsWithPhotos(q, [{ listing: listing('a'), photos: [photo('a', 0), photo('a', 1)] }], null)).toEqual({ inserted: [], changed: [], unchanged: ['a'] });
    expect((await images.imagesForListing(t.db, 'a')).map((i) => i.status)).toEqual(['failed', 'pending']);

    // New content with one photo fewer: the listing is pending again and the dropped photo is gone.
    const changed = await storeListingsWithPhotos(q, [{ listing: listing('a', { contentHash: 'h2' }), photos: [photo('a', 1)] }], null);
    expect(changed.changed).toEqual(['a']);
    expect((await images.imagesForListing(t.db, 'a')).map((i) => i.id)).toEqual(['a-1']);
    expect(await listings.getListing(t.db, 'a')).toMatchObject({ status: 'pending', contentHash: 'h2' });
    await expect(storeListingsWithPhotos(t.db, [{ listing: listing('c'), photos: [photo('c', 0), photo('c', 0)] }], null)).rejects.toThrow(/appears twice/);
  });

  it('runs a session on one connection and ends its session-level locks with it, even when it fails', async () => {
    const tryLock = async (q: Queryable) =>
      (await q.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [`session-test:${t.schema}`])).rows[0]!.locked;
    const pid = async (q: Queryable) => (await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await t.db.withSession(async (a) => {
      expect(await tryLock(a)).toBe(true);
      expect(await pid(a)).toBe(await pid(a));
      // Another session cannot take it while this one holds it.
      expect(await t.db.withSession(tryLock)).toBe(false);
    });
    // Never unlocked by hand: closing the connection released it. The server ends that backend (and
    // drops its locks) a moment after the client hangs up, so the next session may have to ask again.
    await expect(t.db.withSession(async (a) => {
      expect(await tryLock(a)).toBe(true);
      throw new Error('the run failed');
    })).rejects.toThrow('the run failed');
    let released = false;
    for (let i = 0; i < 50 && !released; i++) {
      released = await t.db.withSession(tryLock);
      if (!released) await new Promise((r) => setTimeout(r, 100));
    }
    expect(released).toBe(true);
  });

  it('turns a connection lost in the middle of a session into that session\'s error, not a process crash', async () => {
    const lost: Error[] = [];
    const db = createDb(t.config, { applicationName: 'lost-connection-test', onIdleClientError: (err) => lost.push(err) });
    try {
      await expect(db.withSession(async (s) => {
        const { pid } = (await s.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!;
        await t.db.query('SELECT pg_terminate_backend($1)', [pid]);
        // The server's notice arrives while the client is checked out but idle: pg emits 'error' on it.
        await new Promise((r) => setTimeout(r, 300));
        await s.query('SELECT 1');
      })).rejects.toThrow();
      expect(lost.map((e) => (e as Error & { code?: string }).code)).toContain('57P01');
      // The pool carries on with a fresh connection.
      expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    } finally {
      await db.close();
    }
  });

  it('keeps the prepared submit statement working after a migration changes the tables under it', async () => {
    // Postgres re-plans a prepared statement after DDL on its tables; it refuses one only when the
    // statement's own result columns change, and the submit's are fixed (id, outcome). One connection,
    // so the second call reuses the statement prepared by the first.
    const photo = (listingId: string) => ({ id: `${listingId}-0`, listingId, position: 0, sourceUri: `https://img.example/${listingId}.jpg` });
    await t.db.withTransaction(async (tx) => {
      expect(await storeListingsWithPhotos(tx, [{ listing: listing('a'), photos: [photo('a')] }], null)).toMatchObject({ inserted: ['a'] });
      await tx.query('ALTER TABLE listings ADD COLUMN seller_note text');
      await tx.query('ALTER TABLE listings ALTER COLUMN location TYPE varchar(2000)');
      await tx.query('ALTER TABLE images ADD COLUMN alt_text text');
      expect(await storeListingsWithPhotos(tx, [{ listing: listing('b'), photos: [photo('b')] }], null)).toMatchObject({ inserted: ['b'] });
      expect(await storeListingsWithPhotos(tx, [{ listing: listing('a', { contentHash: 'h2' }), photos: [] }], null)).toMatchObject({ changed: ['a'] });
    });
    expect((await images.imagesForListing(t.db, 'a')).length).toBe(0);
    expect((await images.imagesForListing(t.db, 'b')).map((i) => i.id)).toEqual(['b-0']);
  });

  it('keeps only the latest content\'s photos when two producers store the same listing at once', async () => {
    // Producer A stores listing x with photo x-a and holds its transaction open; producer B stores x with
    // other content and photo x-b meanwhile (its statement waits for A's row lock). B's content wins, so
    // x must end with x-b alone: A's photo was committed after B's statement began, and must not survive.
    const photo = (id: string) => ({ id, listingId: 'x', position: 0, sourceUri: `https://img.example/${id}.jpg` });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let stored!: () => void;
    const aStored = new Promise<void>((r) => (stored = r));
    const a = t.db.withTransaction(async (tx) => {
      await storeListingsAndRevisions(tx, [{ listing: listing('x', { contentHash: 'hA' }), photos: [photo('x-a')] }], null);
      stored();
      await held;
    });
    await aStored;
    const b = storeListingsAndRevisions(t.db, [{ listing: listing('x', { contentHash: 'hB' }), photos: [photo('x-b')] }], null);
    // Let B's statement start (and block on the listing row) before A commits.
    await new Promise((r) => setTimeout(r, 300));
    release();
    await a;
    const fromB = await b;
    expect(fromB.revisions.get('x')).toBe(1);
    expect(await listings.getListing(t.db, 'x')).toMatchObject({ contentHash: 'hB', status: 'pending' });
    expect((await images.imagesForListing(t.db, 'x')).map((i) => i.id)).toEqual(['x-b']);
  });

  it('stores image cleaning results and failures', async () => {
    await listings.upsertListings(t.db, [listing('a')], null);
    const imgs = [0, 1, 2].map((p) => ({ id: `a-${p}`, listingId: 'a', position: p, sourceUri: `/img/a-${p}.jpg` }));
    await images.upsertImages(t.db, imgs);
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01, 0xd9]);
    expect(await images.markImageCleaned(t.db, 'a-0', { bytes: 6, width: 154, height: 154, format: 'jpeg', cleanedJpeg: jpeg })).toBe(true);
    await images.markImageFailed(t.db, 'a-1', 'not_an_image', 'a-1.jpg is not an image (it starts with "<html>").');
    await images.markImageFailed(t.db, 'a-2', 'not_an_image', 'a-2.jpg is not an image.');
    expect(await images.getCleanedJpeg(t.db, 'a-0')).toEqual(jpeg);
    const rows = await images.imagesForListing(t.db, 'a', { withJpeg: true });
    expect(rows.map((r) => [r.id, r.status, r.width])).toEqual([['a-0', 'cleaned', 154], ['a-1', 'failed', null], ['a-2', 'failed', null]]);
    expect(rows[0]?.cleanedJpeg).toEqual(jpeg);
    expect(await images.countImagesByStatus(t.db)).toEqual({ pending: 0, cleaned: 1, failed: 2, skipped: 0 });
    expect(await images.topImageFailureReasons(t.db)).toEqual([{ code: 'not_an_image', count: 2, exampleReason: 'a-1.jpg is not an image (it starts with "<html>").' }]);

    // Same source again: nothing to redo. New source: the old result is thrown away.
    expect(await images.upsertImages(t.db, imgs)).toEqual({ inserted: [], changed: [], unchanged: ['a-0', 'a-1', 'a-2'] });
    const moved = await images.upsertImages(t.db, [{ ...imgs[0]!, sourceUri: '/img/new.jpg' }]);
    expect(moved.changed).toEqual(['a-0']);
    expect(await images.getCleanedJpeg(t.db, 'a-0')).toBeNull();
    expect(await images.markImagesSkipped(t.db, ['a-1', 'a-2'], 'Not processed: its listing is a duplicate.')).toBe(2);
    expect(await images.countImagesByStatus(t.db)).toEqual({ pending: 1, cleaned: 0, failed: 0, skipped: 2 });
    expect((await images.upsertImages(t.db, imgs.slice(1))).changed).toEqual(['a-1', 'a-2']);
  });

  it('records runs and rejected rows idempotently', async () => {
    const run = await runs.startRun(t.db, { kind: 'backfill', source: '/data/fbm', options: { limit: 10, tags: ['x'] } });
    expect(run).toMatchObject({ status: 'running', finishedAt: null, options: { limit: 10, tags: ['x'] } });
    const rejects = [{ file: 'Products.csv', line: 7, reason: 'no id' }, { file: 'Products.csv', line: 9, reason: 'bad quote', excerpt: '"abc' }];
    await runs.recordRowRejects(t.db, run.id, rejects);
    await runs.recordRowRejects(t.db, run.id, rejects);
    expect(await runs.rowRejectsForRun(t.db, run.id)).toEqual({ total: 2, rejects: [{ ...rejects[0], excerpt: null }, rejects[1]] });
    const done = await runs.finishRun(t.db, run.id, { done: 5, rejected: 2 });
    expect(done).toMatchObject({ status: 'finished', counts: { done: 5, rejected: 2 } });
    expect((await runs.finishRun(t.db, run.id, { done: 5, rejected: 2 })).finishedAt).toEqual(done.finishedAt);
    expect(await runs.getRun(t.db, run.id)).toEqual(await runs.latestRun(t.db, 'backfill'));
    await expect(runs.finishRun(t.db, 999_999, {})).rejects.toThrow(/does not exist/);
  });

  it('trains only on listings and photos whose embeddings belong to what they hold now', async () => {
    await listings.upsertListings(t.db, ['ok', 'dup', 'bad', 'edited'].map((id) => listing(id)), null);
    await images.upsertImages(t.db, [
      { id: 'ok-0', listingId: 'ok', position: 0, sourceUri: '/ok-0' }, { id: 'ok-1', listingId: 'ok', position: 1, sourceUri: '/ok-1' }]);
    const cleaned = { bytes: 6, width: 154, height: 154, format: 'jpeg', cleanedJpeg: Buffer.from([0xff, 0xd8, 0xff, 0xd9]) };
    for (const id of ['ok-0', 'ok-1']) await images.markImageCleaned(t.db, id, cleaned);
    await embeddings.upsertTextEmbeddings(t.db, 'txt@1', ['ok', 'dup', 'bad', 'edited'].map((id) => ({ listingId: id, contentHash: 'h1', vector: [1, 2] })));
    await embeddings.upsertImageEmbeddings(t.db, 'img@1', [{ imageId: 'ok-0', vector: [3] }, { imageId: 'ok-1', vector: [4] }]);
    const ids = async () => (await embeddings.loadTrainingSet(t.db, 'txt@1', 'img@1')).map((e) => [e.listingId, e.images.map((i) => i.imageId)]);
    expect(await ids()).toEqual([['bad', []], ['dup', []], ['edited', []], ['ok', ['ok-0', 'ok-1']]]);

    // An edited listing keeps its earlier content's text vector until its text-embed job stores the new
    // one: neither training nor an infer job for the new content may read the old one.
    await listings.upsertListings(t.db, [listing('edited', { descriptionRaw: 'Now walnut', modelText: 'walnut', contentHash: 'h2' })], null);
    expect(await ids()).toEqual([['bad', []], ['dup', []], ['ok', ['ok-0', 'ok-1']]]);
    expect((await embeddings.getTextEmbeddings(t.db, 'txt@1', [{ listingId: 'edited', contentHash: 'h2' }])).size).toBe(0);
    expect(await embeddings.upsertTextEmbeddingIfCurrent(t.db, 'txt@1', { listingId: 'edited', contentHash: 'h2' }, [5, 6])).toBe(true);
    expect((await embeddings.getTextEmbeddings(t.db, 'txt@1', [{ listingId: 'edited', contentHash: 'h2' }])).get('edited')).toEqual(Float32Array.from([5, 6]));
    expect((await embeddings.getTextEmbeddings(t.db, 'txt@1', [{ listingId: 'edited', contentHash: 'h1' }])).size).toBe(0);
    expect(await ids()).toEqual([['bad', []], ['dup', []], ['edited', []], ['ok', ['ok-0', 'ok-1']]]);

    // A duplicate (skipped) and a failed listing keep their rows and embeddings but leave training.
    await listings.markSkipped(t.db, 'dup', 'h1', 'Duplicate of ok.');
    await listings.markFailed(t.db, 'bad', 'h1', 'No text and no usable photo.');
    // A photo whose source changed is pending again: its stored embedding is the old photo's.
    await images.upsertImages(t.db, [{ id: 'ok-1', listingId: 'ok', position: 1, sourceUri: '/ok-1-new' }]);
    expect(await ids()).toEqual([['edited', []], ['ok', ['ok-0']]]);
  });

  it('round-trips embeddings and predictions and loads the training set', async () => {
    await listings.upsertListings(t.db, [listing('a'), listing('b'), listing('u', { label: null })], null);
    await images.upsertImages(t.db, [
      { id: 'a-1', listingId: 'a', position: 1, sourceUri: '/1' }, { id: 'a-0', listingId: 'a', position: 0, sourceUri: '/0' }]);
    const v = (x: number) => Float32Array.from([x, x / 3, -x, 1e-7]);
    for (let i = 0; i < 2; i += 1) {
      await embeddings.upsertTextEmbeddings(t.db, 'txt@1', [{ listingId: 'a', contentHash: 'h1', vector: v(1) }, { listingId: 'u', contentHash: 'h1', vector: v(2) }]);
      await embeddings.upsertImageEmbeddings(t.db, 'img@1', [{ imageId: 'a-0', vector: v(3) }, { imageId: 'a-1', vector: [4, 5, 6, 7] }]);
    }
    expect((await embeddings.getTextEmbeddings(t.db, 'txt@1', [{ listingId: 'a', contentHash: 'h1' }, { listingId: 'b', contentHash: 'h1' }])).get('a')).toEqual(v(1));
    expect([...(await embeddings.getImageEmbeddings(t.db, 'img@1', ['a-0', 'a-1', 'zz'])).keys()].sort()).toEqual(['a-0', 'a-1']);
    await expect(embeddings.upsertTextEmbeddings(t.db, 'txt@1', [{ listingId: 'a', contentHash: 'h1', vector: [1, Number.NaN] }])).rejects.toThrow(/non-finite/);

    const cleaned = { bytes: 6, width: 154, height: 154, format: 'jpeg', cleanedJpeg: Buffer.from([0xff, 0xd8, 0xff, 0xd9]) };
    for (const id of ['a-0', 'a-1']) await images.markImageCleaned(t.db, id, cleaned);
    const set = await embeddings.loadTrainingSet(t.db, 'txt@1', 'img@1');
    expect(set).toEqual([{ listingId: 'a', label: 'Home & Garden', textEmbedding: v(1), images: [
      { imageId: 'a-0', position: 0, vector: v(3) }, { imageId: 'a-1', position: 1, vector: Float32Array.from([4, 5, 6, 7]) }] }]);

    await listings.markProcessedMany(t.db, [{ id: 'a', contentHash: 'h1' }, { id: 'b', contentHash: 'h1' }]);
    const todo = async () => (await listingsWithoutPrediction(t.db, 'clf@1', { afterId: '', limit: 10 })).map((l) => l.id);
    expect(await todo()).toEqual(['a', 'b']);
    expect(await listingsWithoutPrediction(t.db, 'clf@1', { afterId: 'a', limit: 10 })).toEqual([{ id: 'b', contentHash: 'h1' }]);
    const probs = Array.from({ length: 13 }, (_, i) => (i === 4 ? 0.88 : 0.01));
    const pred = { listingId: 'a', modelVersion: 'clf@1', category: 'Home & Garden', categoryCode: 4, probabilities: probs, modality: 'combined' as const, embedding: v(9) };
    await predictions.upsertPredictions(t.db, [pred]);
    await predictions.upsertPredictions(t.db, [pred]);
    expect(await todo()).toEqual(['b']);
    expect(await countWithoutPrediction(t.db, 'clf@1', 'b', new Date(Date.now() + 60_000))).toBe(1);
    expect(await countWithoutPrediction(t.db, 'clf@1', 'a', new Date(Date.now() + 60_000))).toBe(0);
    expect(await countWithoutPrediction(t.db, 'clf@1', 'b', new Date(0))).toBe(0); // processed after that time
    const got = (await predictions.getPredictions(t.db, 'clf@1', ['a', 'b'])).get('a');
    expect(got).toMatchObject({ ...pred, probabilities: Float32Array.from(probs), embedding: v(9) });
    expect(await predictions.getLatestPrediction(t.db, 'a')).toEqual(got);
    expect(await predictions.listPredictions(t.db, 'clf@1', { withEmbedding: false })).toHaveLength(1);
    expect(await predictions.categoryMix(t.db, 'clf@1')).toEqual([{ category: 'Home & Garden', count: 1 }]);
    await expect(predictions.upsertPredictions(t.db, [{ ...pred, categoryCode: 13 }])).rejects.toThrow(/check constraint/);

    // The infer pool's guarded write: nothing lands for content the listing no longer has.
    const other = { ...pred, modelVersion: 'clf@2', category: 'Toys', categoryCode: 12 };
    expect(await predictions.upsertPredictionIfCurrent(t.db, { listingId: 'a', contentHash: 'an-older-hash' }, other)).toBe(false);
    expect((await predictions.getPredictions(t.db, 'clf@2', ['a'])).size).toBe(0);
    expect(await predictions.upsertPredictionIfCurrent(t.db, { listingId: 'a', contentHash: 'h1' }, other)).toBe(true);
    expect((await predictions.getPredictions(t.db, 'clf@2', ['a'])).get('a')).toMatchObject({ category: 'Toys', categoryCode: 12 });
  });
});
