// Runs text-encoder fits on worker threads (piscina). Each fit is single-threaded sparse SGD, and
// `setup` needs 33 of them (3 views x (1 + 10 out-of-fold folds)); they are independent, so N cores fit
// N at once. Results do not depend on the thread count: each task carries its own data and seed.
import os from 'node:os';
import { Piscina } from 'piscina';
import type { TextFitResult, TextFitTask } from './text-fit-task.js';
import { runTextFitTask } from './text-fit-task.js';

/** The worker file beside this one: .ts under tsx or vitest, .js when built. */
function workerFile(): { filename: string; execArgv: string[] } {
  const built = import.meta.url.endsWith('.js');
  const filename = new URL(`./text-fit-worker${built ? '.js' : '.ts'}`, import.meta.url).href;
  // A source (.ts) worker needs tsx's loader; a process started by tsx already passes it on to workers.
  const hasTsx = process.execArgv.some((a) => a.includes('tsx'));
  return { filename, execArgv: built || hasTsx ? process.execArgv : [...process.execArgv, '--import', 'tsx'] };
}

/** Default parallelism: one fit per core. */
export const defaultFitThreads = (): number => os.availableParallelism();

/**
 * Runs every task, `threads` at a time (default one per core), and returns the results in task order;
 * onDone reports each finished task. threads <= 1 runs them in this thread, in order.
 */
export async function runTextFits(
  tasks: TextFitTask[], threads = defaultFitThreads(), onDone?: (done: number, total: number) => void,
): Promise<TextFitResult[]> {
  let done = 0;
  const finished = <T>(r: T): T => (onDone?.(++done, tasks.length), r);
  if (threads <= 1 || tasks.length <= 1) return tasks.map((t) => finished(runTextFitTask(t)));
  const { filename, execArgv } = workerFile();
  const size = Math.min(threads, tasks.length);
  const pool = new Piscina<TextFitTask, TextFitResult>({ filename, execArgv, minThreads: size, maxThreads: size });
  try {
    return await Promise.all(tasks.map((t) => pool.run(t).then(finished)));
  } finally {
    await pool.destroy();
  }
}
