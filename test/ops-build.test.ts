// The production build as the Docker image lays it out (/app/dist, /app/migrations, /app/src/api/public):
// `tsc -p tsconfig.build.json` compiles without errors, and the built CLI, every worker entry point
// and the API start from plain `node` (no tsx) and answer /healthz.
import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/config.js';
import { createTestSchema, type TestSchema } from './support/db.js';
import { deletePrefixKeys } from './support/redis-keys.js';
import { freePort, waitFor } from './support/prometheus.js';

const run = promisify(execFile);

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('production build (dist/)', () => {
  let app: string;
  let schema: TestSchema;
  const env = (extra: Record<string, string>) => ({
    ...(process.env as Record<string, string>),
    DB_SCHEMA: schema.schema,
    QUEUE_PREFIX: `b${schema.schema.slice(-10)}`,
    LOG_LEVEL: 'warn',
    NIGHTLY_CRON: 'off',
    ...extra,
  });

  beforeAll(async () => {
    // Inside the repository so the built files resolve node_modules as they do in the image.
    app = await mkdtemp(path.join(PROJECT_ROOT, 'var', 'ops-build-'));
    await run(process.execPath, [path.join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', path.join(app, 'dist')], {
      cwd: PROJECT_ROOT,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: Error & { stdout?: string }) => {
      throw new Error(`tsc -p tsconfig.build.json failed:\n${err.stdout ?? err.message}`);
    });
    await cp(path.join(PROJECT_ROOT, 'migrations'), path.join(app, 'migrations'), { recursive: true });
    if (existsSync(path.join(PROJECT_ROOT, 'src/api/public'))) {
      await cp(path.join(PROJECT_ROOT, 'src/api/public'), path.join(app, 'src/api/public'), { recursive: true });
    }
    schema = await createTestSchema({ prefix: 'build' });
  }, 240_000);
  afterAll(async () => {
    if (schema) await deletePrefixKeys(`b${schema.schema.slice(-10)}`);
    await schema?.drop();
    if (app) await rm(app, { recursive: true, force: true });
  });

  it('emits every entry point and no test files', async () => {
    const files = (await filesUnder(path.join(app, 'dist'))).map((f) => path.relative(path.join(app, 'dist'), f));
    for (const f of ['src/cli/main.js', 'workers/image-clean.js', 'workers/text-embed.js', 'workers/infer.js', 'workers/scheduler.js']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.includes('.test.'))).toEqual([]);
  });

  it('runs the built CLI', async () => {
    const { stdout } = await run(process.execPath, [path.join(app, 'dist/src/cli/main.js'), '--help'], { env: env({}) });
    for (const cmd of ['migrate', 'backfill', 'queues', 'schedule']) expect(stdout).toContain(cmd);
    const { stdout: migrated } = await run(process.execPath, [path.join(app, 'dist/src/cli/main.js'), 'migrate', '--json'], { env: env({}) });
    expect(migrated).toMatch(/\{/);
  });

  const entries: [string, string, string][] = [
    ['image-clean pool', 'dist/workers/image-clean.js', 'METRICS_PORT'],
    ['text-embed pool', 'dist/workers/text-embed.js', 'METRICS_PORT'],
    ['infer pool', 'dist/workers/infer.js', 'METRICS_PORT'],
    ['scheduler', 'dist/workers/scheduler.js', 'METRICS_PORT'],
    ['API', 'dist/src/api/main.js', 'API_PORT'],
  ];
  it.each(entries)('starts the built %s, answers /healthz and stops cleanly on SIGTERM', async (_name, entry, portVar) => {
    const file = path.join(app, entry);
    expect(existsSync(file), `${entry} was not built`).toBe(true);
    const port = await freePort();
    const child = spawn(process.execPath, [file], { env: env({ [portVar]: String(port), MODELS_DIR: path.join(app, 'models') }), stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await waitFor(`${entry} to answer /healthz`, async () => {
        if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}`);
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
      }, 60_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
