// `npm run workers` (workers/all.ts) as a terminal runs it: in a process group of its own, so that a
// Ctrl-C is a SIGINT to the whole group. One Ctrl-C must drain and stop every pool cleanly (not count as
// a second signal in the pools), and a SIGKILLed supervisor must not leave its pools running.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/config.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';

/** Running (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${what}.`);
}

describe('npm run workers and signals', () => {
  let t: TestPipeline;
  let dir: string;
  let supervisor: ChildProcess | undefined;
  let pools: number[] = [];
  let log = '';

  /** Starts workers/all.ts as the leader of a new process group and waits until every pool has started. */
  async function startWorkers(): Promise<{ exited: Promise<number | null> }> {
    log = '';
    supervisor = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'workers', 'all.ts')], {
      cwd: PROJECT_ROOT,
      env: { ...t.env, LOG_LEVEL: 'info', MODELS_DIR: path.join(dir, 'models') },
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    supervisor.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => supervisor!.once('exit', (code) => resolve(code)));
    await waitFor('every pool to start', () => (log.match(/ pool started"/g) ?? []).length === 3, 90_000);
    // The supervisor's children other than the pools (tsx's esbuild service) are not counted.
    pools = spawnSync('pgrep', ['-P', String(supervisor.pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number)
      .filter((pid) => /workers\/(image-clean|text-embed|infer)\.ts/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
    return { exited };
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'workers-signals-'));
    t = await createTestPipeline();
  });
  afterEach(() => {
    // Whatever a failed assertion left behind.
    for (const pid of [supervisor?.pid, ...pools]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('drains and stops every pool on one Ctrl-C (SIGINT to the whole process group)', async () => {
    const { exited } = await startWorkers();
    expect(pools).toHaveLength(3);
    process.kill(-supervisor!.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(log).not.toMatch(/second signal/);
    expect((log.match(/"shutdown complete"/g) ?? []).length).toBe(3);
    expect(pools.filter(alive)).toEqual([]);
  }, 120_000);

  it('stops the pools when the supervisor is SIGKILLed', async () => {
    const { exited } = await startWorkers();
    expect(pools).toHaveLength(3);
    supervisor!.kill('SIGKILL');
    await exited;
    await waitFor('the pools to stop', () => pools.every((pid) => !alive(pid)), 30_000);
    expect(log).toMatch(/"reason":"supervisor gone"/);
  }, 120_000);
});
