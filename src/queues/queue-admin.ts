// Read and steer queue state: counts per state for progress bars and metrics, pause/resume/retry for
// operators, and obliteration for tests.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { POOL_QUEUES } from './registry.js';

export const JOB_STATES = ['waiting', 'waiting-children', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

export class QueueAdmin {
  readonly queues: Map<string, Queue>;

  constructor(connection: Redis, config: Pick<Config, 'QUEUE_PREFIX'>, names: readonly string[] = POOL_QUEUES) {
    this.queues = new Map(names.map((n) => [n, new Queue(n, { connection, prefix: config.QUEUE_PREFIX })]));
  }

  private queue(name: string): Queue {
    const q = this.queues.get(name);
    if (!q) throw new Error(`Unknown queue "${name}"; known queues: ${[...this.queues.keys()].join(', ')}.`);
    return q;
  }

  async counts(): Promise<Record<string, Record<JobState, number>>> {
    const out: Record<string, Record<JobState, number>> = {};
    for (const [name, q] of this.queues) {
      out[name] = (await q.getJobCounts(...JOB_STATES)) as Record<JobState, number>;
    }
    return out;
  }

  /** Jobs not yet finished across every queue: 0 means the pipeline is idle. */
  async outstanding(): Promise<number> {
    let total = 0;
    for (const c of Object.values(await this.counts())) {
      total += c.waiting + c['waiting-children'] + c.active + c.delayed + c.prioritized;
    }
    return total;
  }

  /**
   * Queues holding jobs ready to run (waiting or prioritized) that no worker is connected to: work
   * that cannot progress until a pool starts. Empty when Redis refuses CLIENT LIST (some managed
   * services), since then nothing can be said.
   */
  async queuesWithoutWorkers(): Promise<string[]> {
    const idle: string[] = [];
    try {
      for (const [name, q] of this.queues) {
        const c = await q.getJobCounts('waiting', 'prioritized');
        if ((c.waiting ?? 0) + (c.prioritized ?? 0) > 0 && (await q.getWorkersCount()) === 0) idle.push(name);
      }
    } catch {
      return [];
    }
    return idle;
  }

  pause(name: string): Promise<void> {
    return this.queue(name).pause();
  }

  resume(name: string): Promise<void> {
    return this.queue(name).resume();
  }

  /** Moves failed jobs back to waiting; returns how many were retried. */
  async retryFailed(name: string): Promise<number> {
    const q = this.queue(name);
    const before = await q.getJobCountByTypes('failed');
    await q.retryJobs({ state: 'failed' });
    return before;
  }

  async obliterate(): Promise<void> {
    for (const q of this.queues.values()) await q.obliterate({ force: true });
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
