// The nightly backfill's BullMQ side: a job scheduler (cron pattern and time zone from configuration)
// on the `schedule` queue, manual triggers, and the worker that runs one nightly job at a time.
// Upserting the scheduler is idempotent, so every scheduler replica may install it on start.
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Logger } from '../logging.js';
import { JOB_NAMES, QUEUES, parsePayload } from './registry.js';

export const NIGHTLY_SCHEDULER_ID = 'nightly-backfill';

export const nightlyPayload = z.object({
  v: z.literal(1),
  /** Catalogue folder; null means NIGHTLY_CATALOGUE_DIR or the default catalogue. */
  catalogueDir: z.string().min(1).nullable(),
  /** Only the first N listings (smoke runs); null for the whole catalogue. */
  limit: z.number().int().positive().nullable(),
  trigger: z.enum(['schedule', 'manual']),
});
export type NightlyPayload = z.infer<typeof nightlyPayload>;

export interface ScheduleInfo {
  pattern: string | null;
  tz: string | null;
  /** When the scheduler creates its next job (epoch ms), if installed. */
  next: number | null;
}

export interface TriggeredJob {
  jobId: string;
  state: string;
  result: unknown;
  failedReason: string | null;
}

// A nightly job is not retried at once: the run is recorded as failed, an alert fires, and the next
// night (or an operator's run-now) tries again. Finished jobs are kept a few weeks for inspection.
const JOB_OPTS = { attempts: 1, removeOnComplete: { count: 60 }, removeOnFail: { count: 60 } } as const;

export class NightlySchedule {
  readonly queue: Queue;

  constructor(connection: Redis, config: Pick<Config, 'QUEUE_PREFIX'>) {
    this.queue = new Queue(QUEUES.schedule, { connection, prefix: config.QUEUE_PREFIX });
  }

  /** Creates or updates the nightly job scheduler. */
  async install(pattern: string, tz: string, data: Omit<NightlyPayload, 'v' | 'trigger'>): Promise<ScheduleInfo> {
    try {
      await this.queue.upsertJobScheduler(
        NIGHTLY_SCHEDULER_ID,
        { pattern, tz },
        { name: JOB_NAMES.nightlyBackfill, data: { v: 1, ...data, trigger: 'schedule' } satisfies NightlyPayload, opts: JOB_OPTS },
      );
    } catch (err) {
      throw new Error(
        `The nightly schedule "${pattern}" (time zone ${tz}) was refused (${(err as Error).message}); set NIGHTLY_CRON to a ` +
          'cron pattern such as "0 2 * * *" (02:00 every day) and NIGHTLY_TZ to an IANA zone such as "Europe/London", or NIGHTLY_CRON=off.',
        { cause: err },
      );
    }
    return this.describe();
  }

  /** Removes the job scheduler (NIGHTLY_CRON=off); returns whether one existed. */
  remove(): Promise<boolean> {
    return this.queue.removeJobScheduler(NIGHTLY_SCHEDULER_ID);
  }

  async describe(): Promise<ScheduleInfo> {
    const s = await this.queue.getJobScheduler(NIGHTLY_SCHEDULER_ID);
    return { pattern: s?.pattern ?? null, tz: s?.tz ?? null, next: s?.next ?? null };
  }

  /** Enqueues a nightly run now; the scheduler worker runs it after any run in progress. */
  async trigger(data: Omit<NightlyPayload, 'v' | 'trigger'>): Promise<string> {
    const job = await this.queue.add(JOB_NAMES.nightlyBackfill, { v: 1, ...data, trigger: 'manual' } satisfies NightlyPayload, {
      ...JOB_OPTS,
      jobId: `manual.${Date.now()}`,
    });
    return job.id!;
  }

  /** Waits for a job to complete or fail, polling its state; throws after timeoutMs. */
  async waitFor(jobId: string, timeoutMs: number, pollMs = 500): Promise<TriggeredJob> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // State first, then the job: a job read before it finished keeps a null return value even after
      // its state turns 'completed' (seen in CI as a completed run with no result).
      const state = await this.queue.getJobState(jobId);
      const job = state === 'unknown' ? undefined : await this.queue.getJob(jobId);
      if (!job) throw new Error(`Nightly job ${jobId} no longer exists; it was removed by retention or by an operator.`);
      if (state === 'completed' || state === 'failed') {
        return { jobId, state, result: job.returnvalue ?? null, failedReason: job.failedReason ?? null };
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Nightly job ${jobId} is still ${state} after ${Math.round(timeoutMs / 1000)} s; is a scheduler process ` +
            '(`node dist/workers/scheduler.js`, or the compose service "scheduler") running?',
        );
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

export interface ScheduleWorkerOptions {
  connection: Redis;
  config: Pick<Config, 'QUEUE_PREFIX' | 'JOB_LOCK_MS'>;
  handler: (data: NightlyPayload, jobId: string) => Promise<unknown>;
  log: Logger;
}

/** The worker of the schedule queue: concurrency 1, so one process never runs two nightly jobs at once. */
export function createScheduleWorker(opts: ScheduleWorkerOptions): Worker {
  const worker = new Worker(
    QUEUES.schedule,
    async (job: Job) => opts.handler(parsePayload(nightlyPayload, job.data, QUEUES.schedule), job.id ?? 'unknown'),
    {
      connection: opts.connection,
      prefix: opts.config.QUEUE_PREFIX,
      concurrency: 1,
      autorun: false,
      lockDuration: opts.config.JOB_LOCK_MS,
      stalledInterval: opts.config.JOB_LOCK_MS,
    },
  );
  worker.on('error', (err) => opts.log.error({ err, queue: QUEUES.schedule }, 'schedule worker error (will retry)'));
  return worker;
}
