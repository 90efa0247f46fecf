// A tiny cross-process lock for manifest read-modify-write cycles. `open(..., 'wx')` is atomic on local
// filesystems, so exactly one process creates the lock file; the others wait and retry. A lock left
// behind by a killed process is taken over once it is older than `staleMs` (a registration holds the
// lock for milliseconds, never seconds).
import { randomBytes } from 'node:crypto';
import { link, open, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelError } from './errors.js';

export interface LockOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Treat a lock file older than this as abandoned (default 30 s). */
  staleMs?: number;
}

export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt += 1) {
    try {
      const handle = await open(lockPath, 'wx');
      try {
        await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }));
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await lockAge(lockPath);
      if (age !== null && age > staleMs) {
        await takeOverStale(lockPath, staleMs);
        continue;
      }
      if (Date.now() > deadline) {
        throw new ModelError(
          'manifest-locked',
          `Another process has held the model manifest lock ${lockPath} for over ${Math.round(timeoutMs / 1000)} s. ` +
            'Wait for the running `models` or `setup` command to finish; if none is running, delete that file and retry.',
        );
      }
      // Jittered back-off so two waiters do not retry in lock-step.
      await sleep(Math.min(50, 2 * 2 ** Math.min(attempt, 5)) + Math.random() * 10);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

/**
 * Removes an abandoned lock file without the race of a plain rm: two waiters can both judge the old file
 * stale, and the slower one's rm would then delete the lock the faster one has just created. Instead the
 * file is moved aside under a name of our own and checked there: still stale, it is deleted; fresh (another
 * waiter's new lock, moved in the race), it is linked back. If a third process created a lock in the
 * moment between, the link fails and two holders remain: a three-way race this narrows but does not close,
 * acceptable for a lock that guards millisecond manifest writes after a crash.
 */
async function takeOverStale(lockPath: string, staleMs: number): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(lockPath, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else moved it first
    throw err;
  }
  const age = await lockAge(aside);
  if (age !== null && age <= staleMs) {
    await link(aside, lockPath).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  await rm(aside, { force: true });
}

async function lockAge(lockPath: string): Promise<number | null> {
  try {
    return Date.now() - (await stat(lockPath)).mtimeMs;
  } catch {
    return null; // released between our open() and stat(): just retry
  }
}
