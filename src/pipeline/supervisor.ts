// Runs every pool as its own child process on one machine (`npm run workers`, the demo command and
// the integration tests). Children inherit the environment plus per-child overrides; a signal to the
// supervisor is forwarded so each pool drains its own in-flight jobs before exiting.
//
// Each pool gets a process group of its own (detached) and an IPC channel. In the terminal's group, a
// Ctrl-C reached every pool directly and again through the supervisor's forward, and a pool takes a
// second signal as "exit now", so nothing was drained. Out of that group only the forwarded signal
// arrives; and when the supervisor dies without forwarding anything (SIGKILL), the IPC channel closes
// and the pool drains and stops on its own (start-pool.ts), so no pool is left orphaned.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../config.js';
import type { PoolName } from './start-pool.js';

export const POOLS: PoolName[] = ['image-clean', 'text-embed', 'infer'];

export interface SupervisedPool {
  name: PoolName;
  child: ChildProcess;
  exited: Promise<number | null>;
}

export interface SuperviseOptions {
  env?: Record<string, string | undefined>;
  /** Per-pool extra environment, e.g. a fixed METRICS_PORT. */
  envFor?: (pool: PoolName) => Record<string, string>;
  /** 'inherit' shows the pools' logs; 'ignore' keeps a CLI's progress bar clean. An IPC channel is added. */
  stdio?: StdioOptions;
}

/** The caller's stdin/stdout/stderr choice plus the IPC channel the pool watches for the supervisor. */
function withIpc(stdio: StdioOptions): StdioOptions {
  const fds = typeof stdio === 'string' ? [stdio, stdio, stdio] : [...stdio];
  if (fds.includes('ipc')) return fds;
  while (fds.length < 3) fds.push('pipe');
  return [...fds, 'ipc'];
}

/** The command that starts one pool: the built JS when running from dist, else tsx on the source. */
function poolCommand(pool: PoolName): { cmd: string; args: string[] } {
  const built = import.meta.url.endsWith('.js');
  if (built) return { cmd: process.execPath, args: [path.join(PROJECT_ROOT, 'workers', `${pool}.js`)] };
  return {
    cmd: process.execPath,
    args: ['--import', 'tsx', path.join(PROJECT_ROOT, 'workers', `${pool}.ts`)],
  };
}

export function startPoolProcess(pool: PoolName, options: SuperviseOptions = {}): SupervisedPool {
  const { cmd, args } = poolCommand(pool);
  const child = spawn(cmd, args, {
    cwd: PROJECT_ROOT,
    // Pools parse their own settings: they inherit this process's environment unless given one.
    // eslint-disable-next-line no-restricted-properties
    env: { ...(options.env ?? process.env), ...(options.envFor?.(pool) ?? {}) },
    stdio: withIpc(options.stdio ?? 'inherit'),
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name: pool, child, exited };
}

export function startAllPools(options: SuperviseOptions = {}): SupervisedPool[] {
  return POOLS.map((p) => startPoolProcess(p, options));
}

/** Sends SIGTERM to every pool and waits for them all to exit. */
export async function stopPools(pools: SupervisedPool[], signal: NodeJS.Signals = 'SIGTERM'): Promise<(number | null)[]> {
  for (const p of pools) if (p.child.exitCode === null) p.child.kill(signal);
  return Promise.all(pools.map((p) => p.exited));
}
