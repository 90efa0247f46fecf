// The one typed configuration object. It is parsed and validated once, from the environment, at the
// edge of each entry point and then passed down explicitly; nothing else reads process.env.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The repository root (this file lives in <root>/src). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

// Each key is the environment variable's name; the default is what a one-machine run needs.
const schema = z.object({
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/postgres'),
  /** Postgres schema holding the tables; tests use a random one each. */
  DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
    .default('public'),
  DB_POOL_MAX: int(1, 200).default(10),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /** BullMQ key prefix; tests use a random one each so queues never collide. */
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default('lp'),

  IMAGE_CLEAN_CONCURRENCY: int(1, 256).default(2),
  TEXT_EMBED_CONCURRENCY: int(1, 1024).default(32),
  INFER_CONCURRENCY: int(1, 1024).default(64),
  /** Sandboxed child processes used by the image-clean pool for sharp work. */
  IMAGE_CLEAN_SANDBOXED: bool.default(true),
  JOB_ATTEMPTS: int(1, 100).default(4),
  JOB_BACKOFF_MS: int(0).default(2000),
  KEEP_COMPLETED_JOBS: int(0).default(1000),
  KEEP_FAILED_JOBS: int(0).default(5000),
  SHUTDOWN_TIMEOUT_MS: int(0).default(30_000),
  /** Job lock time; a killed worker's jobs are recovered as stalled after about this long. */
  JOB_LOCK_MS: int(1000).default(30_000),

  IMAGE_LETTERBOX_SIZE: int(8, 4096).default(154),
  IMAGE_MODEL_SIZE: int(8, 1024).default(128),
  IMAGE_MAX_BYTES: int(1).default(20 * 1024 * 1024),
  IMAGE_MAX_PIXELS: int(1).default(40_000_000),

  MODELS_DIR: z.string().default(path.join(PROJECT_ROOT, 'models')),
  TEXT_MAX_TOKENS: int(1, 512).default(20),
  INFER_MAX_BATCH: int(1, 4096).default(64),
  INFER_MAX_DELAY_MS: int(0, 10_000).default(5),
  /** Execution providers in order of preference, e.g. "cuda,cpu". */
  ORT_PROVIDERS: z
    .string()
    .default('cpu')
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
    .pipe(z.array(z.enum(['cuda', 'cpu'])).min(1)),

  /** Where the real catalogue sample lives when present (tests skip without it). */
  SHARED_DIR: z.string().default(path.resolve(PROJECT_ROOT, '..', 'shared')),
  /** Scratch space for generated catalogues and reports. */
  VAR_DIR: z.string().default(path.join(PROJECT_ROOT, 'var')),

  METRICS_HOST: z.string().default('127.0.0.1'),
  /** 0 picks a free port; each pool gets its own in `npm run workers`. */
  METRICS_PORT: int(0, 65535).default(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`The configuration is invalid; fix these environment variables:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the settings once; every problem is named in one error. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message} (got ${JSON.stringify(present[String(i.path[0])])})`),
    );
  }
  return parsed.data;
}
