// Shared by the API benchmarks: the benchmark environment (a dedicated schema, queue prefix and models
// folder, prepared once by bench/api-prepare.ts), the API as a separate process on loopback, and
// latency percentiles. Every request goes to 127.0.0.1 only, and every loop is bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config.js';
import type { Queryable } from '../src/db/pool.js';
import { currentEntry, readManifest } from '../src/models/load.js';

/** The trained models of the bench environment. */
export function benchModelsDir(): string {
  return process.env.BENCH_MODELS_DIR ?? path.join(PROJECT_ROOT, 'var', 'bench-api', 'models');
}

/** Where `npm run bench:api:prepare` puts the fully backfilled, trained and classified catalogue. */
export function benchEnv(over: Record<string, string> = {}): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    DB_SCHEMA: process.env.BENCH_DB_SCHEMA ?? 'bench_api',
    QUEUE_PREFIX: process.env.BENCH_QUEUE_PREFIX ?? 'benchapi',
    MODELS_DIR: benchModelsDir(),
    VAR_DIR: path.join(PROJECT_ROOT, 'var', 'bench-api'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    // One client sends hundreds of requests a minute on purpose.
    API_RATE_LIMIT_PER_MINUTE: '0',
    ...over,
  };
}

const PREPARE = 'run `npm run bench:api:prepare` first (once; it fills the schema and trains the bench models)';

/**
 * What is missing for the benches that read the prepared bench schema, or null when it is ready. From a
 * clean clone they used to die on Postgres' raw 'relation "listings" does not exist'.
 */
export async function benchSchemaProblem(db: Queryable, schema: string): Promise<string | null> {
  const { rows } = await db.query<{ ok: boolean }>("SELECT to_regclass(format('%I.predictions', $1::text)) IS NOT NULL AS ok", [schema]);
  if (!rows[0]?.ok) return `The bench schema "${schema}" has no tables; ${PREPARE}.`;
  const { rows: any } = await db.query<{ ok: boolean }>('SELECT EXISTS (SELECT 1 FROM predictions) AS ok');
  if (!any[0]?.ok) return `The bench schema "${schema}" has no predictions yet; ${PREPARE}.`;
  return null;
}

/** What is missing in the bench models folder (a current classifier and its encoders), or null. */
export async function benchModelsProblem(modelsDir: string): Promise<string | null> {
  const manifest = await readManifest({ MODELS_DIR: modelsDir });
  const missing = (['text-encoder', 'image-encoder', 'classifier'] as const).filter((role) => !currentEntry(manifest, role));
  return missing.length === 0 ? null : `The bench models folder ${modelsDir} has no current ${missing.join(', ')}; ${PREPARE}.`;
}

/** Exits with status 2 and the problem when there is one (as bench/sample.ts does for a missing sample). */
export function exitIfProblem(bench: string, problem: string | null): void {
  if (problem === null) return;
  console.error(`${bench}: ${problem}`);
  process.exit(2);
}

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `src/api/main.ts` as its own process and waits until /readyz (or only /healthz) answers 200. */
export async function startApiProcess(env: Record<string, string>, opts: { port: number; requireReady?: boolean }): Promise<ApiProcess> {
  // BENCH_API_NODE_ARGS passes flags to the API's node, e.g. "--cpu-prof --cpu-prof-dir=var/prof".
  const nodeArgs = (process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(PROJECT_ROOT, 'src/api/main.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...env, API_HOST: '127.0.0.1', API_PORT: String(opts.port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`The API process exited with code ${child.exitCode} before it was ready; see its log above.`);
    const res = await fetch(`${url}${opts.requireReady === false ? '/healthz' : '/readyz'}`).catch(() => null);
    if (res?.ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`The API at ${url} was not ready within 120 s: ${res ? await res.text() : 'no answer'}.`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Percentiles {
  n: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function percentiles(samplesMs: readonly number[]): Percentiles {
  const s = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    n: s.length,
    meanMs: round(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)),
    p50Ms: round(at(0.5)),
    p95Ms: round(at(0.95)),
    p99Ms: round(at(0.99)),
    maxMs: round(s[s.length - 1] ?? NaN),
  };
}

export function report(name: string, figures: Record<string, unknown>): void {
  console.log(JSON.stringify({ bench: name, ...figures }, null, 2));
}

/**
 * A light HTTP/1.1 POST over a keep-alive agent for the load generators: fetch (undici's WHATWG layer)
 * costs several times more CPU per request, and on a 2-core machine the generator's own CPU shows up as
 * latency of the system under test. Resolves with the status once the whole response has arrived.
 */
export function postJson(agent: http.Agent, url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The agent for postJson: connections kept open and reused, as a webhook sender would. */
export const keepAliveAgent = (): http.Agent => new http.Agent({ keepAlive: true, maxSockets: 256 });
