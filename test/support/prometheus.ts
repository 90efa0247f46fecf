// A real Prometheus (Debian's `prometheus` package) for integration tests: its own data directory,
// 127.0.0.1 on a free port, a 1 s scrape interval, the project's alert rules loaded, and a small
// client for its HTTP API. Also free-port and /metrics helpers shared by the ops tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';

/** The path of a binary on PATH, or null (tests skip with a clear message when it is missing). */
export function which(binary: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export const PROMETHEUS_MISSING =
  'Prometheus/promtool are not installed; install them with `apt-get install -y --no-install-recommends prometheus` (.ci/run does).';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}.`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The text of a /metrics endpoint. */
export async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics on port ${port} answered ${res.status}.`);
  return res.text();
}

/** Sample lines (series) of an exposition, optionally only those whose name starts with prefix. */
export function seriesOf(exposition: string, prefix = ''): string[] {
  return exposition.split('\n').filter((l) => l !== '' && !l.startsWith('#') && l.startsWith(prefix)).map((l) => l.slice(0, l.lastIndexOf(' ')));
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface TestPrometheus {
  url: string;
  /** Instant query; throws on a query error (bad syntax, wrong types). */
  query(expr: string): Promise<PromSample[]>;
  /** Scrape targets with their health. */
  targets(): Promise<{ job: string; health: string; lastError: string }[]>;
  close(): Promise<void>;
}

export async function startPrometheus(opts: { jobs: Record<string, number[]>; ruleFiles: string[] }): Promise<TestPrometheus> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'prom-'));
  const port = await freePort();
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
    rule_files: opts.ruleFiles,
    scrape_configs: Object.entries(opts.jobs).map(([job, ports]) => ({
      job_name: job,
      static_configs: [{ targets: ports.map((p) => `127.0.0.1:${p}`) }],
    })),
  };
  const configFile = path.join(dir, 'prometheus.yml');
  await writeFile(configFile, stringify(config));
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor('Prometheus to be ready', async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
      return (await fetch(`${url}/-/ready`)).ok;
    }, 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const api = async <T>(pathAndQuery: string): Promise<T> => {
    const res = await fetch(`${url}${pathAndQuery}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus answered ${res.status}: ${body.error ?? JSON.stringify(body)} for ${pathAndQuery}`);
    return body.data;
  };
  return {
    url,
    async query(expr) {
      const data = await api<{ resultType: string; result: PromSample[] | [number, string] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      // A scalar result (e.g. a bare number) counts as one sample.
      return data.resultType === 'scalar' ? [{ metric: {}, value: data.result as [number, string] }] : (data.result as PromSample[]);
    },
    async targets() {
      const data = await api<{ activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] }>('/api/v1/targets');
      return data.activeTargets.map((t) => ({ job: t.labels.job ?? '', health: t.health, lastError: t.lastError }));
    },
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
