// A fresh, randomly named Postgres schema per test (or suite), migrated on request and dropped after.
// Usage:
//   let t: TestSchema;
//   beforeEach(async () => { t = await createTestSchema(); });
//   afterEach(() => t.drop());
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config.js';
import { createDb, type Db } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrate.js';

export interface TestSchema {
  schema: string;
  /** The project config with DB_SCHEMA pointing at the test schema. */
  config: Config;
  /** A pool whose search_path is the test schema. */
  db: Db;
  /** Closes the pool and drops the schema with everything in it. Safe to call twice. */
  drop(): Promise<void>;
}

export function randomSchemaName(prefix = 'test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export async function createTestSchema(opts: { migrate?: boolean; prefix?: string; config?: Config } = {}): Promise<TestSchema> {
  const schema = randomSchemaName(opts.prefix);
  const config: Config = { ...(opts.config ?? loadConfig()), DB_SCHEMA: schema, DB_POOL_MAX: 4 };
  if (opts.migrate ?? true) await migrate(config);
  const db = createDb(config, { applicationName: `test-${schema}` });
  let dropped = false;
  return {
    schema,
    config,
    db,
    async drop() {
      if (dropped) return;
      dropped = true;
      await db.close();
      const admin = createDb({ ...config, DB_SCHEMA: 'public', DB_POOL_MAX: 1 });
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await admin.close();
      }
    },
  };
}
