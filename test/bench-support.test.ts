// The API benches' preconditions: from a clean clone (no bench schema, no bench models) they must say
// what to run first instead of dying on Postgres' 'relation "listings" does not exist'.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { benchModelsProblem, benchSchemaProblem, percentiles } from '../bench/api-support.js';
import { createTestSchema, type TestSchema } from './support/db.js';

describe('bench preconditions', () => {
  let t: TestSchema | undefined;
  afterEach(async () => {
    await t?.drop();
    t = undefined;
  });

  it('names bench:api:prepare when the bench schema does not exist', async () => {
    t = await createTestSchema({ migrate: false, prefix: 'benchsup' });
    expect(await benchSchemaProblem(t.db, t.schema)).toMatch(/has no tables; run `npm run bench:api:prepare` first/);
  });

  it('names bench:api:prepare when the schema is migrated but holds no predictions', async () => {
    t = await createTestSchema({ prefix: 'benchsup' });
    expect(await benchSchemaProblem(t.db, t.schema)).toMatch(/has no predictions yet; run `npm run bench:api:prepare` first/);
  });

  it('names bench:api:prepare when the bench models folder is empty', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-models-'));
    try {
      expect(await benchModelsProblem(dir)).toMatch(/no current text-encoder, image-encoder, classifier; run `npm run bench:api:prepare` first/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('percentiles', () => {
  it('uses the nearest rank', () => {
    const p = percentiles(Array.from({ length: 100 }, (_, i) => 100 - i));
    expect(p).toMatchObject({ n: 100, p50Ms: 50, p95Ms: 95, p99Ms: 99, maxMs: 100, meanMs: 50.5 });
    expect(percentiles([7])).toMatchObject({ p50Ms: 7, p99Ms: 7 });
  });
});
