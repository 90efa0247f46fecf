// Test harness for the whole pipeline: a random Postgres schema and a random BullMQ prefix, the three
// pools as real child processes against them, and the CLI run as a real process.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { loadConfig, PROJECT_ROOT } from '../../src/config.js';
import { QueueAdmin } from '../../src/queues/queue-admin.js';
import { startAllPools, stopPools, type SupervisedPool } from '../../src/pipeline/supervisor.js';
import { createTestSchema, type TestSchema } from './db.js';
import { deletePrefixKeys } from './redis-keys.js';

const run = promisify(execFile);

export interface TestPipeline extends TestSchema {
  prefix: string;
  env: Record<string, string>;
  pools: SupervisedPool[];
  startPools(): void;
  stopPools(signal?: NodeJS.Signals): Promise<void>;
  /** Runs `npm run cli -- <args>` as a process and returns the parsed JSON of its last stdout line. */
  cli<T = Record<string, unknown>>(args: string[], extraEnv?: Record<string, string>): Promise<T>;
  close(): Promise<void>;
}

export async function createTestPipeline(extraEnv: Record<string, string> = {}): Promise<TestPipeline> {
  const schema = await createTestSchema({ prefix: 'pipe' });
  const prefix = `t${randomBytes(5).toString('hex')}`;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DB_SCHEMA: schema.schema,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    JOB_BACKOFF_MS: '200',
    SHUTDOWN_TIMEOUT_MS: '20000',
    ...extraEnv,
  };
  const t: TestPipeline = {
    ...schema,
    // The same settings the pools and CLI processes get.
    config: { ...loadConfig(env), DB_POOL_MAX: 4 },
    prefix,
    env,
    pools: [],
    startPools() {
      t.pools = startAllPools({ env, stdio: 'inherit' });
    },
    async stopPools(signal = 'SIGTERM') {
      await stopPools(t.pools, signal);
      t.pools = [];
    },
    async cli<T>(args: string[], more: Record<string, string> = {}): Promise<T> {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/cli/main.ts'), ...args, '--json'], {
        cwd: PROJECT_ROOT,
        env: { ...env, ...more },
        maxBuffer: 64 * 1024 * 1024,
      });
      const last = stdout.trim().split('\n').pop() ?? '';
      return JSON.parse(last) as T;
    },
    async close() {
      await t.stopPools();
      const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
      const admin = new QueueAdmin(redis, { QUEUE_PREFIX: prefix });
      await admin.obliterate();
      await admin.close();
      redis.disconnect();
      await deletePrefixKeys(prefix);
      await schema.drop();
    },
  };
  return t;
}
