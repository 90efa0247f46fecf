// The one typed configuration object. It is parsed and validated once, from the environment, at the
// edge of each entry point and then passed down explicitly; nothing else reads process.env.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { redactUrl } from './redact-url.js';

/** The repository root (this file lives in <root>/src). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Numbers are written in decimal digits only: z.coerce.number() read " " as 0 (an unset-looking value
// silently becoming 0) and accepted "1e3" and "0x10".
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.string().trim().regex(/^-?\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));
const decimal = (min: number, max: number) =>
  z.string().trim().regex(/^-?\d+(\.\d+)?$/, 'must be a decimal number').transform(Number).pipe(z.number().min(min).max(max));
/** A URL with one of these schemes (a bare "host:5432" parses as a URL whose scheme is "host:"). */
const urlWith = (protocols: readonly string[]) =>
  z.url().refine((u) => protocols.includes(new URL(u).protocol), `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
const timeZone = z.string().min(1).refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as UTC or Europe/London');
const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

// Each key is the environment variable's name; the default is what a one-machine run needs.
const schema = z.object({
  DATABASE_URL: urlWith(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/postgres'),
  /** Postgres schema holding the tables; tests use a random one each. */
  DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
    .default('public'),
  DB_POOL_MAX: int(1, 200).default(10),
  /**
   * Longest a single statement may run before Postgres cancels it (0: no limit). The pools' statements
   * are indexed lookups and page-sized writes that take milliseconds, and the bulk reads and deletes go
   * in pages; a few operator reads (status counts, `classify`'s list of listings to predict) scan a
   * table and take seconds at a million listings. The limit turns a runaway query or a lock wait into an
   * error the job retries, instead of a worker slot and a connection held for good.
   * Migrations run without it (an index build on a big table, waiting for another migrator).
   */
  DB_STATEMENT_TIMEOUT_MS: int(0, 86_400_000).default(60_000),
  REDIS_URL: urlWith(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  /** BullMQ key prefix; tests use a random one each so queues never collide. */
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default('lp'),

  IMAGE_CLEAN_CONCURRENCY: int(1, 256).default(2),
  TEXT_EMBED_CONCURRENCY: int(1, 1024).default(32),
  INFER_CONCURRENCY: int(1, 1024).default(64),
  /**
   * Whether the image-clean pool runs each job in a sandboxed child process (one per concurrency slot,
   * so sharp's decoding never stalls the lock-renewing event loop); false runs jobs in the pool process.
   */
  IMAGE_CLEAN_SANDBOXED: bool.default(true),
  JOB_ATTEMPTS: int(1, 100).default(4),
  JOB_BACKOFF_MS: int(0).default(2000),
  KEEP_COMPLETED_JOBS: int(0).default(1000),
  KEEP_FAILED_JOBS: int(0).default(5000),
  SHUTDOWN_TIMEOUT_MS: int(0).default(30_000),
  /**
   * Job lock time, and how often stalled jobs are checked for: a killed worker's jobs are recovered as
   * stalled within about twice this (the lock lapses, then the next check finds it).
   */
  JOB_LOCK_MS: int(1000).default(30_000),

  IMAGE_LETTERBOX_SIZE: int(8, 4096).default(154),
  IMAGE_MODEL_SIZE: int(8, 1024).default(128),
  IMAGE_MAX_BYTES: int(1).default(20 * 1024 * 1024),
  IMAGE_MAX_PIXELS: int(1).default(40_000_000),

  MODELS_DIR: z.string().default(path.join(PROJECT_ROOT, 'models')),
  TEXT_MAX_TOKENS: int(1, 512).default(20),
  INFER_MAX_BATCH: int(1, 4096).default(64),
  INFER_MAX_DELAY_MS: int(0, 10_000).default(5),
  /**
   * onnxruntime intra-op threads per session; 0 lets onnxruntime choose (one per core). One is the
   * default because several pools share each machine's cores: per-session thread pools that each
   * spin on every core starve one another (measured: listing-to-prediction p95 1.5 s -> 0.08 s).
   */
  ORT_INTRA_OP_THREADS: int(0, 256).default(1),
  /** Worker threads for `setup`'s text-encoder fits (0 = one per core; 1 fits on the main thread). */
  FIT_THREADS: int(0, 256).default(0),
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

  API_HOST: z.string().default('127.0.0.1'),
  /** 0 picks a free port (tests). */
  API_PORT: int(0, 65535).default(3000),
  /** Largest JSON/form body outside the webhook. */
  API_BODY_LIMIT_BYTES: int(1024).default(1024 * 1024),
  /** Largest file accepted by /predict/* uploads. */
  API_UPLOAD_MAX_BYTES: int(1024).default(10 * 1024 * 1024),
  /**
   * How long the API's model batchers wait for company before running a batch. 0: a lone request runs
   * at once (concurrent ones still share a batch while one runs), which keeps /predict fast.
   */
  API_BATCH_DELAY_MS: int(0, 1000).default(0),
  /** Requests per minute per client address on /predict, /search and /similar; 0 turns the limit off. */
  API_RATE_LIMIT_PER_MINUTE: int(0).default(600),
  /** Credentials for the queue admin UI at /admin/queues; the UI is off unless both are set. */
  ADMIN_USER: z.string().min(1).optional(),
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  /** Shared secret the marketplace signs webhook deliveries with; unset refuses every delivery (503). */
  WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Accepted age of a delivery's signed timestamp, either way; also how long replays are remembered. */
  WEBHOOK_TOLERANCE_SECONDS: int(1, 3600).default(300),
  /** Largest webhook body (inline base64 photos included). */
  WEBHOOK_BODY_LIMIT_BYTES: int(1024).default(16 * 1024 * 1024),
  /** Hosts photo URLs may point at: "cdn.example.com" or "*.example.com", comma separated; empty refuses all. */
  PHOTO_HOST_ALLOWLIST: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)),
  PHOTO_FETCH_TIMEOUT_MS: int(100, 120_000).default(10_000),
  PHOTO_FETCH_MAX_REDIRECTS: int(0, 10).default(3),
  /** Lets photo URLs resolve to loopback addresses (tests and local demos only). */
  PHOTO_FETCH_ALLOW_LOOPBACK: bool.default(false),
  /** How often the API re-reads the model manifest to pick up a new classifier or encoder. */
  API_MODEL_RELOAD_MS: int(200).default(5000),
  API_MODEL_SWITCH_MIN_COVERAGE: decimal(0, 1).default(0.9),
  /** How often the API's vector index reads newly stored predictions. */
  SEARCH_INDEX_POLL_MS: int(50, 60_000).default(500),
  /** How often the index is rebuilt from scratch (drops deleted listings). */
  SEARCH_INDEX_RESYNC_MS: int(1000).default(10 * 60_000),
  /**
   * Ranking score = cosine + this x P(query in the neighbour's category); 0 ranks by cosine alone.
   * 2 is the weight chosen on validation listings by `npm run bench:api:weight` (docs/api.md).
   */
  SEARCH_CATEGORY_WEIGHT: decimal(0, 10).default(2),
  /**
   * Indexed listings from which searches use an HNSW graph (candidates re-scored exactly) instead of one
   * exact scan; 0 keeps the exact scan at every size.
   */
  SEARCH_ANN_THRESHOLD: int(0).default(20_000),
  /** efSearch of that graph: candidates kept while searching (higher: better recall, slower). */
  SEARCH_ANN_EF: int(1, 4096).default(64),

  /**
   * Unfinished jobs in the pool queues that a backfill's next chunk (1,000 listings, at most half this
   * many jobs) must fit under before it is enqueued; `classify` and `requeue-lost` page the same way
   * (0: enqueue everything at once). Bounds the Redis memory a big catalogue takes (about 1.3 KB per
   * queued job measured by `npm run bench:backpressure`); the sample's 6,097 listings are about 23,000 jobs.
   */
  BACKFILL_MAX_QUEUED_JOBS: int(0).default(50_000),
  /** Cron pattern (5 or 6 fields) of the nightly catalogue backfill; "off" installs no schedule. */
  NIGHTLY_CRON: z.string().min(1).default('0 2 * * *'),
  /** IANA time zone the cron pattern is read in. */
  NIGHTLY_TZ: timeZone.default('UTC'),
  /** Catalogue folder (Products.csv, Images.csv, images/) of the nightly run; empty = the default catalogue. */
  NIGHTLY_CATALOGUE_DIR: z.string().optional(),

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

/** Settings whose values are never echoed back in an error (it reaches logs and terminals). */
const SECRET_KEYS: ReadonlySet<string> = new Set(['WEBHOOK_SECRET', 'ADMIN_PASSWORD', 'ADMIN_USER']);
/** Connection URLs: echoed without their password. */
const URL_KEYS: ReadonlySet<string> = new Set(['DATABASE_URL', 'REDIS_URL']);

/** What an error may say about the value given for `key`. */
function shownValue(key: string, value: string | undefined): string {
  if (value === undefined) return 'nothing';
  if (SECRET_KEYS.has(key)) return `a value of ${value.length} character(s), not shown`;
  if (URL_KEYS.has(key)) return JSON.stringify(redactUrl(value, key));
  return JSON.stringify(value);
}

/** Parses the settings once; every problem is named in one error. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message} (got ${shownValue(String(i.path[0]), present[String(i.path[0])])})`),
    );
  }
  return parsed.data;
}
