// One BullMQ Worker per pool process, with explicit concurrency, metrics from job events, and the
// translation of permanent errors into UnrecoverableError (no retries for bad input).
import { UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics/registry.js';
import { isPermanent, reasonCode, type AttemptInfo } from '../pipeline/errors.js';

export type StageHandler = (data: unknown, attempt: AttemptInfo) => Promise<unknown>;

export interface PoolWorkerOptions {
  queue: string;
  concurrency: number;
  /** An in-process handler, or the path of a sandboxed processor file (runs in child processes). */
  handler: StageHandler | string;
  connection: Redis;
  config: Pick<Config, 'QUEUE_PREFIX' | 'JOB_LOCK_MS'>;
  metrics: Metrics;
  log: Logger;
  /** Called with each completed job's return value (image-clean reports bytes/pixels this way). */
  onCompleted?: (result: unknown, data: unknown) => void;
  /**
   * Called when a job fails for good (no attempts left, bad input, or stalled too often), with its reason
   * class, payload and error message. The handler may never have run (see failureReason), so it may not
   * have recorded anything.
   */
  onFinalFailure?: (reason: string, data: unknown, message: string) => void;
  /**
   * Whether a job's time before pickup is queueing (default: always). A flow parent's is not: it sat in
   * waiting-children while its children ran, so counting it would blame this queue for their time.
   */
  queueWaitOf?: (data: unknown) => boolean;
}

/**
 * BullMQ fails a job that stalled more than maxStalledCount times (its worker died with it: SIGKILL, the
 * OOM killer) at its next pickup, with this message and without running the processor.
 */
const STALLED = /^job (stalled|started) more than allowable limit/;

/**
 * The bounded reason class of a failed attempt: the code toProcessor put in front of a permanent error,
 * 'stalled' for a job BullMQ gave up on because its workers kept dying with it, 'bad_input' for any other
 * permanent error, else 'transient'.
 */
export function failureReason(err: Pick<Error, 'name' | 'message'>): string {
  const coded = /^\[([a-z_]{1,40})\] /.exec(err.message)?.[1];
  if (coded) return coded;
  if (STALLED.test(err.message)) return 'stalled';
  return err.name === 'UnrecoverableError' ? 'bad_input' : 'transient';
}

/** Wraps a stage handler as a BullMQ processor. Exported for the sandboxed processor files. */
export function toProcessor(handler: StageHandler): Processor {
  return async (job: Job) => {
    try {
      return await handler(job.data, { attemptsMade: job.attemptsMade, maxAttempts: job.opts.attempts ?? 1 });
    } catch (err) {
      if (isPermanent(err)) {
        const e = err as Error & { code?: string };
        // Keep the reason class in the message prefix: UnrecoverableError has no code of its own.
        throw new UnrecoverableError(`[${reasonCode(e)}] ${e.message}`);
      }
      throw err;
    }
  };
}

export function createPoolWorker(opts: PoolWorkerOptions): Worker {
  const processor = typeof opts.handler === 'string' ? opts.handler : toProcessor(opts.handler);
  const worker = new Worker(opts.queue, processor, {
    connection: opts.connection,
    prefix: opts.config.QUEUE_PREFIX,
    concurrency: opts.concurrency,
    // Children are forked processes (tsx's loader is inherited by fork, not by worker threads).
    useWorkerThreads: false,
    autorun: false,
    // A killed worker's jobs are taken back after the lock lapses; checking at the same pace keeps
    // recovery within about two lock periods.
    lockDuration: opts.config.JOB_LOCK_MS,
    stalledInterval: opts.config.JOB_LOCK_MS,
  });
  const m = opts.metrics;
  worker.on('active', (job) => {
    if (job.processedOn && (opts.queueWaitOf?.(job.data) ?? true)) {
      m.jobWait.observe({ queue: opts.queue }, Math.max(0, job.processedOn - job.timestamp) / 1000);
    }
  });
  worker.on('completed', (job, result) => {
    m.jobsCompleted.inc({ queue: opts.queue });
    if (job.processedOn && job.finishedOn) {
      m.jobProcessing.observe({ queue: opts.queue }, (job.finishedOn - job.processedOn) / 1000);
    }
    opts.onCompleted?.(result, job.data);
  });
  worker.on('failed', (job, err) => {
    const permanent = err.name === 'UnrecoverableError';
    // Permanent failures carry their bounded reason class ("[corrupt] ..."); a job given up on after
    // stalling is 'stalled' (not bad input: its payload was never looked at); the rest is transient.
    const reason = failureReason(err);
    m.jobsFailed.inc({ queue: opts.queue, reason });
    const final = permanent || (job !== undefined && job.attemptsMade >= (job.opts.attempts ?? 1));
    if (final) opts.onFinalFailure?.(reason, job?.data, err.message);
    if (job?.processedOn && job.finishedOn) {
      m.jobProcessing.observe({ queue: opts.queue }, (job.finishedOn - job.processedOn) / 1000);
    }
  });
  // Connection errors are retried by ioredis; surface them without crashing the pool.
  worker.on('error', (err) => opts.log.error({ err, queue: opts.queue }, 'worker error (will retry)'));
  return worker;
}
