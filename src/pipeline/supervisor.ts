// Runs every pool as its own child process on one machine (`npm run workers`, the demo command and
// the integration tests). Children inherit the environment plus per-child overrides; a signal to the
// supervisor is forwarded so each pool drains its own in-flight jobs before exiting.
import { spawn, type ChildProcess } from 'node:child_process';
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
  /** 'inherit' shows the pools' logs; 'ignore' keeps a CLI's progress bar clean. */
  stdio?: import('node:child_process').StdioOptions;
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
    stdio: options.stdio ?? 'inherit',
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
