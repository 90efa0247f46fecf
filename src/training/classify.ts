// `classify`: after a new classifier becomes current, run the infer stage (on the pools) for every
// processed listing that has no prediction of that version yet, and wait until they are stored. The
// listings are read and enqueued in pages under the queue mark, so a big catalogue needs neither its
// whole id list in memory nor its whole job list in Redis.
import type { Config } from '../config.js';
import { countPredictions, countWithoutPrediction, databaseNow, listingsWithoutPrediction } from '../db/model-inputs-repo.js';
import type { Db } from '../db/pool.js';
import { currentEntry, readManifest } from '../models/load.js';
import { enqueueInferOnly } from '../queues/flows.js';
import type { QueueAdmin } from '../queues/queue-admin.js';
import { noWorkerWatch } from '../queues/no-worker-warning.js';
import { batchJobsLimit, waitForRoom } from '../queues/queue-room.js';
import type { Redis } from '../queues/connection.js';

export interface ClassifyResult {
  modelVersion: string;
  enqueued: number;
  predictions: number;
  seconds: number;
  incomplete?: string;
}

/** Listings per page of the list to predict, and per batch of infer jobs. */
const PAGE = 1000;

/** How long `classify --wait` waits without one more listing predicted before it gives up as incomplete. */
export const CLASSIFY_STALL_MS = 10 * 60_000;

export async function classifyStored(
  deps: { db: Db; redis: Redis; admin: QueueAdmin; config: Config },
  opts: { wait: boolean; onProgress?: (done: number, total: number) => void; warn?: (message: string) => void; pollMs?: number; stallMs?: number },
): Promise<ClassifyResult> {
  const t0 = Date.now();
  const entry = currentEntry(await readManifest(deps.config), 'classifier');
  if (!entry) throw new Error('No classifier is registered; run `npm run cli -- train` first.');
  const version = entry.version;
  const pollMs = opts.pollMs ?? 500;
  const watch = noWorkerWatch(deps.admin, opts.warn ?? (() => {}));
  // Progress counts the listings enqueued here: those processed before this command started, up to the
  // last enqueued id, that still lack a prediction are what is left. (Listings processed meanwhile are
  // the live infer pool's: one it processed with the previous classifier, before reloading the manifest,
  // must not keep this command waiting; the next `classify` predicts it.)
  const started = await databaseNow(deps.db);
  let enqueued = 0;
  let lastId = '';
  const remaining = async () => (lastId === '' ? 0 : countWithoutPrediction(deps.db, version, lastId, started));
  // One progress read at a time: at a million listings the count takes longer than a poll.
  let reading = false;
  const report = async () => {
    if (!opts.onProgress || reading) return;
    reading = true;
    try {
      opts.onProgress(Math.max(0, enqueued - (await remaining())), enqueued);
    } finally {
      reading = false;
    }
  };
  // In pages, each waiting for room under BACKFILL_MAX_QUEUED_JOBS: a new classifier over a big
  // catalogue would otherwise put one job per listing in Redis at once.
  const pageSize = Math.min(PAGE, batchJobsLimit(deps.config.BACKFILL_MAX_QUEUED_JOBS));
  for (;;) {
    const page = await listingsWithoutPrediction(deps.db, version, { afterId: lastId, limit: pageSize });
    if (page.length === 0) break;
    await waitForRoom(deps.admin, page.length, {
      maxQueuedJobs: deps.config.BACKFILL_MAX_QUEUED_JOBS,
      pollMs,
      watch,
      onWait: () => void report().catch(() => undefined),
    });
    await enqueueInferOnly(deps.redis, deps.config, page.map((t) => ({ listingId: t.id, listingHash: t.contentHash })), version, null);
    enqueued += page.length;
    lastId = page[page.length - 1]!.id;
  }
  let incomplete: string | undefined;
  if (opts.wait) {
    let idle = 0;
    let lastLeft = -1;
    let stuckSince = Date.now();
    for (let left = await remaining(); left > 0; left = await remaining()) {
      opts.onProgress?.(Math.max(0, enqueued - left), enqueued);
      await new Promise((r) => setTimeout(r, pollMs));
      await watch(-left);
      if (left !== lastLeft) stuckSince = Date.now();
      lastLeft = left;
      idle = (await deps.admin.outstanding()) === 0 ? idle + 1 : 0;
      if (idle >= 20) {
        incomplete = `${await remaining()} listing(s) got no prediction and no job is left; check the infer pool's log (does it run classifier ${version}?).`;
        break;
      }
      // Under steady traffic from other producers the queues are never empty: a job that failed for
      // good would otherwise keep this command waiting forever.
      if (Date.now() - stuckSince > (opts.stallMs ?? CLASSIFY_STALL_MS)) {
        incomplete = `${left} listing(s) got no prediction in ${Math.round((Date.now() - stuckSince) / 60_000)} min; check that the infer pool runs and its queue is not paused, then its failed jobs (\`queues counts\`) and its log, and run \`classify\` again.`;
        break;
      }
    }
    opts.onProgress?.(Math.max(0, enqueued - (await remaining())), enqueued);
  }
  const predictions = await countPredictions(deps.db, version);
  return { modelVersion: version, enqueued, predictions, seconds: (Date.now() - t0) / 1000, ...(incomplete ? { incomplete } : {}) };
}
