// Building and enqueueing one flow per listing: image-clean children (one per photo) and a text-embed
// child feed the infer parent, which BullMQ runs once every child has finished (or failed for good).
import { createHash } from 'node:crypto';
import { FlowProducer, Queue, type FlowJob, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { FinishedFlowCleaner } from './finished-flows.js';
import {
  JOB_NAMES,
  QUEUES,
  jobIds,
  type ImageCleanPayload,
  type InferPayload,
  type TextEmbedPayload,
} from './registry.js';

export interface ListingWork {
  listingId: string;
  listingHash: string;
  /**
   * The listing's content revision as stored (listings.revision); part of every job id, so content
   * returning to an earlier hash still gets fresh jobs. Absent means 0.
   */
  revision?: number;
  /**
   * The same content is asked for again while the listing is still pending: if its earlier flow has
   * finished (without settling the listing), that flow is removed so this one really runs.
   */
  requeue?: boolean;
  images: { imageId: string; source: string }[];
  runId: number | null;
  receivedAt: number;
}

type RetryConfig = Pick<Config, 'JOB_ATTEMPTS' | 'JOB_BACKOFF_MS' | 'KEEP_COMPLETED_JOBS' | 'KEEP_FAILED_JOBS'>;

/** Retries with exponential backoff for transient faults; finished jobs are kept only up to a bound. */
export function defaultJobOptions(config: RetryConfig): JobsOptions {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.JOB_BACKOFF_MS },
    removeOnComplete: { count: config.KEEP_COMPLETED_JOBS },
    removeOnFail: { count: config.KEEP_FAILED_JOBS },
  };
}

/** Jobs one listing's flow adds to the queues: an image-clean child per photo, the text-embed child and the infer parent. */
export function flowJobCount(photos: number): number {
  return photos + 2;
}

export function buildListingFlow(work: ListingWork, config: RetryConfig): FlowJob {
  const base = defaultJobOptions(config);
  const revision = work.revision ?? 0;
  // A child that fails for good (a broken photo) must not block its listing: the parent still runs
  // and reads each photo's recorded outcome from Postgres.
  const childOpts: JobsOptions = { ...base, ignoreDependencyOnFailure: true };
  const images: FlowJob[] = work.images.map((img) => ({
    name: JOB_NAMES.imageClean,
    queueName: QUEUES.imageClean,
    data: {
      v: 1,
      listingId: work.listingId,
      imageId: img.imageId,
      source: img.source,
      listingHash: work.listingHash,
      runId: work.runId,
    } satisfies ImageCleanPayload,
    opts: { ...childOpts, jobId: jobIds.image(img.imageId, work.listingHash, revision) },
  }));
  const text: FlowJob = {
    name: JOB_NAMES.textEmbed,
    queueName: QUEUES.textEmbed,
    data: { v: 1, listingId: work.listingId, listingHash: work.listingHash, runId: work.runId } satisfies TextEmbedPayload,
    opts: { ...childOpts, jobId: jobIds.text(work.listingId, work.listingHash, revision) },
  };
  return {
    name: JOB_NAMES.infer,
    queueName: QUEUES.infer,
    data: {
      v: 1,
      listingId: work.listingId,
      listingHash: work.listingHash,
      runId: work.runId,
      receivedAt: work.receivedAt,
    } satisfies InferPayload,
    opts: { ...base, jobId: jobIds.infer(work.listingId, work.listingHash, revision) },
    children: [...images, text],
  };
}

export class ListingFlowProducer {
  private readonly producer: FlowProducer;
  private readonly cleaner: FinishedFlowCleaner;

  constructor(
    connection: Redis,
    private readonly config: RetryConfig & Pick<Config, 'QUEUE_PREFIX'>,
  ) {
    this.producer = new FlowProducer({ connection, prefix: config.QUEUE_PREFIX });
    this.cleaner = new FinishedFlowCleaner(connection, config.QUEUE_PREFIX);
  }

  /**
   * Adds flows in chunks (one Redis transaction each); re-adding an existing job id is a no-op, except
   * that a requeued listing's finished flow is cleared first (see finished-flows.ts).
   */
  async enqueue(works: ListingWork[], chunkSize = 250): Promise<void> {
    for (let i = 0; i < works.length; i += chunkSize) {
      const part = works.slice(i, i + chunkSize);
      const flows = part.map((w) => buildListingFlow(w, this.config));
      await Promise.all(flows.filter((_, k) => part[k]!.requeue).map((f) => this.cleaner.clear(f)));
      await this.producer.addBulk(flows);
    }
  }

  /** Whether the listing's flow (this content and revision) is still in Redis and unfinished. */
  async inFlight(work: ListingWork): Promise<boolean> {
    return (await this.cleaner.parentState(buildListingFlow(work, this.config))) === 'in-flight';
  }

  async close(): Promise<void> {
    await this.cleaner.close();
    await this.producer.close();
  }
}

/**
 * Re-runs only the infer stage for listings whose photos and text are already embedded (after `train`
 * makes a new classifier current). Job ids include the model version, so each version runs once while
 * its job is in flight. The caller asks only for listings still lacking that version's prediction, so a
 * kept finished job of the same id did not produce it (it failed for good, e.g. the pool ran another
 * classifier): it is removed first, or re-adding its id would do nothing and `classify` could never
 * ask again until retention evicted it.
 */
export async function enqueueInferOnly(
  connection: Redis,
  config: RetryConfig & Pick<Config, 'QUEUE_PREFIX'>,
  items: { listingId: string; listingHash: string }[],
  modelVersion: string,
  runId: number | null,
): Promise<void> {
  const queue = new Queue(QUEUES.infer, { connection, prefix: config.QUEUE_PREFIX });
  const tag = createHash('sha256').update(modelVersion).digest('hex').slice(0, 12);
  try {
    for (let i = 0; i < items.length; i += 500) {
      const jobs = items.slice(i, i + 500).map((it) => ({
        name: JOB_NAMES.infer,
        data: { v: 1, listingId: it.listingId, listingHash: it.listingHash, runId, receivedAt: Date.now(), modelVersion } satisfies InferPayload,
        opts: { ...defaultJobOptions(config), jobId: `classify.${it.listingId}.${it.listingHash.slice(0, 16)}.${tag}` },
      }));
      await Promise.all(
        jobs.map(async ({ opts: { jobId } }) => {
          const state = await queue.getJobState(jobId);
          if (state === 'completed' || state === 'failed') await queue.remove(jobId);
        }),
      );
      await queue.addBulk(jobs);
    }
  } finally {
    await queue.close();
  }
}
