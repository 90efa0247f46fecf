// Group commit for webhook deliveries: while one submit (a few Postgres statements and one Redis
// transaction) is running, deliveries that arrive wait and then go together in the next one. A lone
// delivery is submitted at once; under load each round trip serves many listings, so the accept path
// keeps up at hundreds of deliveries per second on two cores. Each caller still learns its own outcome:
// when a batch fails, its deliveries are retried one by one, so one bad listing fails alone.
import { DbUnavailableError } from '../db/errors.js';
import { isRedisUnavailable } from './errors.js';
import type { Db } from '../db/pool.js';
import type { UploadedPhotoInput } from '../db/uploaded-photos-repo.js';
import { submitListings, type ListingWithPhotos } from '../pipeline/submit-listings.js';
import type { ListingFlowProducer } from '../queues/flows.js';

export type SubmitOutcome = 'enqueued' | 'unchanged';

interface Waiting {
  work: ListingWithPhotos;
  /** Inline photo bytes of the delivery, stored with its batch (see submitNow). */
  uploads: readonly UploadedPhotoInput[];
  receivedAt: number;
  resolve: (o: SubmitOutcome) => void;
  reject: (e: unknown) => void;
}

export class SubmitBatcher {
  private queue: Waiting[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** Listing ids in batches being submitted: a second delivery of one waits for the next batch. */
  private readonly busyIds = new Set<string>();

  constructor(
    private readonly deps: { db: Db; producer: ListingFlowProducer },
    private readonly maxBatch = 200,
    // Two batches overlap: one waits on Postgres while the other writes to Redis, which halves the
    // time a delivery arriving mid-batch waits (the accept path's tail latency).
    private readonly maxInFlight = 2,
  ) {}

  submit(work: ListingWithPhotos, receivedAt: number, uploads: readonly UploadedPhotoInput[] = []): Promise<SubmitOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ work, uploads, receivedAt, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.inFlight.size >= this.maxInFlight || this.queue.length === 0) return;
    // One statement cannot upsert a listing twice, and two batches must not race on one listing: a
    // delivery whose id is already in a batch waits for a later one.
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    for (const w of this.queue) {
      const id = w.work.listing.id;
      if (batch.length < this.maxBatch && !this.busyIds.has(id)) {
        batch.push(w);
        this.busyIds.add(id);
      } else rest.push(w);
    }
    this.queue = rest;
    if (batch.length === 0) return;
    const running: Promise<void> = this.run(batch).finally(() => {
      for (const w of batch) this.busyIds.delete(w.work.listing.id);
      this.inFlight.delete(running);
      this.pump();
    });
    this.inFlight.add(running);
  }

  private async run(batch: Waiting[]): Promise<void> {
    try {
      const enqueued = await this.submitNow(batch);
      for (const w of batch) w.resolve(enqueued.has(w.work.listing.id) ? 'enqueued' : 'unchanged');
    } catch (err) {
      // The Postgres write is one statement, so one listing Postgres refuses fails the whole batch.
      // Retrying one at a time is safe (a listing stored but not yet enqueued is still pending and is
      // enqueued again) but pointless when Postgres or Redis is down: then every delivery gets the error
      // (one at a time, each waiting out the producer's Redis retries, the last of 200 waited minutes).
      if (batch.length === 1 || err instanceof DbUnavailableError || isRedisUnavailable(err)) {
        for (const w of batch) w.reject(err);
        return;
      }
      for (const w of batch) {
        try {
          const enqueued = await this.submitNow([w]);
          w.resolve(enqueued.has(w.work.listing.id) ? 'enqueued' : 'unchanged');
        } catch (itemErr) {
          w.reject(itemErr);
        }
      }
    }
  }

  /** One submit of these deliveries; returns the ids whose flows were enqueued. */
  private async submitNow(batch: Waiting[]): Promise<Set<string>> {
    // Inline photos are stored with the batch, under its listings' locks: stored when the delivery
    // arrived, an upload already there from an earlier delivery was kept as it was (ON CONFLICT DO
    // NOTHING), and a submit still running that dropped the photo then deleted it with its image row,
    // leaving this delivery's photo without bytes.
    const result = await submitListings(this.deps, {
      uploads: batch.flatMap((w) => w.uploads),
      process: batch.map((w) => w.work),
      skip: [],
      source: 'webhook',
      runId: null,
      // End-to-end latency is measured from the earliest delivery of the batch.
      receivedAt: Math.min(...batch.map((w) => w.receivedAt)),
    });
    return new Set(result.enqueued);
  }

  /** Resolves once nothing is waiting or running. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}
