import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
};

describe('loadConfig', () => {
  it('has the defaults the README documents', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres', DB_SCHEMA: 'public', REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: 'lp', IMAGE_CLEAN_CONCURRENCY: 2, TEXT_EMBED_CONCURRENCY: 32, INFER_CONCURRENCY: 64, IMAGE_CLEAN_SANDBOXED: true,
      JOB_ATTEMPTS: 4, JOB_BACKOFF_MS: 2000, KEEP_COMPLETED_JOBS: 1000, KEEP_FAILED_JOBS: 5000, JOB_LOCK_MS: 30_000,
      SHUTDOWN_TIMEOUT_MS: 30_000, IMAGE_LETTERBOX_SIZE: 154, IMAGE_MODEL_SIZE: 128, IMAGE_MAX_BYTES: 20 * 1024 * 1024,
      IMAGE_MAX_PIXELS: 40_000_000, TEXT_MAX_TOKENS: 20, INFER_MAX_BATCH: 64, INFER_MAX_DELAY_MS: 5, ORT_PROVIDERS: ['cpu'],
      ORT_INTRA_OP_THREADS: 1, FIT_THREADS: 0, METRICS_HOST: '127.0.0.1', METRICS_PORT: 0, LOG_LEVEL: 'info',
      SEARCH_CATEGORY_WEIGHT: 2, NIGHTLY_CRON: '0 2 * * *', NIGHTLY_TZ: 'UTC',
    });
    expect(loadConfig({ DB_POOL_MAX: ' 7 ', SEARCH_CATEGORY_WEIGHT: '0.5', NIGHTLY_TZ: 'Europe/London' }))
      .toMatchObject({ DB_POOL_MAX: 7, SEARCH_CATEGORY_WEIGHT: 0.5, NIGHTLY_TZ: 'Europe/London' });
  });

  it('never echoes a secret or a URL password in its error', () => {
    const text = problems({
      WEBHOOK_SECRET: 'hunter2-short', ADMIN_USER: 'ops', ADMIN_PASSWORD: 'pw-s3cret',
      DATABASE_URL: 'mysql://app:db-pa55word@db:3306/x', REDIS_URL: 'http://:redis-pa55word@cache:6379', JOB_ATTEMPTS: 'abc',
    }).join('\n');
    expect(text).toMatch(/WEBHOOK_SECRET: must be at least 16 characters \(got a value of 13 character\(s\), not shown\)/);
    expect(text).toMatch(/ADMIN_PASSWORD: must be at least 12 characters/);
    expect(text).toMatch(/DATABASE_URL: must start with postgres:\/\/ or postgresql:\/\//);
    expect(text).toMatch(/REDIS_URL: must start with redis:\/\/ or rediss:\/\//);
    expect(text).toMatch(/JOB_ATTEMPTS: must be a whole number \(got "abc"\)/);
    for (const secret of ['hunter2', 'pw-s3cret', 'db-pa55word', 'redis-pa55word']) expect(text).not.toContain(secret);
  });

  it('refuses numbers that are blank, in exponent or hex form, instead of reading them as 0 or something else', () => {
    expect(problems({ METRICS_PORT: ' ' })).toEqual(['METRICS_PORT: must be a whole number (got " ")']);
    expect(problems({ SEARCH_CATEGORY_WEIGHT: ' ' })[0]).toMatch(/^SEARCH_CATEGORY_WEIGHT: must be a decimal number/);
    expect(problems({ JOB_ATTEMPTS: '1e1' })[0]).toMatch(/^JOB_ATTEMPTS: must be a whole number/);
    expect(problems({ INFER_MAX_BATCH: '0x10' })[0]).toMatch(/^INFER_MAX_BATCH: must be a whole number/);
    expect(problems({ DB_POOL_MAX: '0' })[0]).toMatch(/^DB_POOL_MAX: /);
  });

  it('refuses connection URLs of the wrong kind and unknown time zones', () => {
    expect(problems({ DATABASE_URL: 'localhost:5432' })[0]).toMatch(/^DATABASE_URL: must start with postgres:\/\//);
    expect(problems({ NIGHTLY_TZ: 'Mars/Olympus_Mons' })[0]).toMatch(/^NIGHTLY_TZ: must be an IANA time zone/);
    expect(problems({ DB_SCHEMA: 'x"; DROP TABLE listings; --' })[0]).toMatch(/^DB_SCHEMA: must be a lower-case SQL identifier/);
  });
});
