// Group commit for webhook deliveries: while one submit (a few Postgres statements and one Redis
// transaction) is running, deliveries that arrive wait and then go together in the next one. A lone
// delivery is submitted at once; under load each round trip serves many listings, so the accept path
// keeps up at hundreds of deliveries per second on two cores. Each caller still learns its own outcome.
import type { Db } from '../db/pool.js';
import { submitListings, type ListingWithPhotos } from '../pipeline/submit-listings.js';
import type { ListingFlowProducer } from '../queues/flows.js';

export type SubmitOutcome = 'enqueued' | 'unchanged';

interface Waiting {
  work: ListingWithPhotos;
  receivedAt: number;
  resolve: (o: SubmitOutcome) => void;
  reject: (e: unknown) => void;
}

export class SubmitBatcher {
  private queue: Waiting[] = [];
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly deps: { db: Db; producer: ListingFlowProducer },
    private readonly maxBatch = 200,
  ) {}

  submit(work: ListingWithPhotos, receivedAt: number): Promise<SubmitOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ work, receivedAt, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.inFlight || this.queue.length === 0) return;
    // One statement cannot upsert a listing twice: a second delivery of the same id waits for the next batch.
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    const ids = new Set<string>();
    for (const w of this.queue) {
      if (batch.length < this.maxBatch && !ids.has(w.work.listing.id)) {
        batch.push(w);
        ids.add(w.work.listing.id);
      } else rest.push(w);
    }
    this.queue = rest;
    this.inFlight = this.run(batch).finally(() => {
      this.inFlight = null;
      this.pump();
    });
  }

  private async run(batch: Waiting[]): Promise<void> {
    try {
      const result = await submitListings(this.deps, {
        process: batch.map((w) => w.work),
        skip: [],
        source: 'webhook',
        runId: null,
        // End-to-end latency is measured from the earliest delivery of the batch.
        receivedAt: Math.min(...batch.map((w) => w.receivedAt)),
      });
      const enqueued = new Set(result.enqueued);
      for (const w of batch) w.resolve(enqueued.has(w.work.listing.id) ? 'enqueued' : 'unchanged');
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }

  /** Resolves once nothing is waiting or running. */
  async drain(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }
}
