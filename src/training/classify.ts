// `classify`: after a new classifier becomes current, run the infer stage (on the pools) for every
// processed listing that has no prediction of that version yet, and wait until they are stored.
import type { Config } from '../config.js';
import { countPredictedAmong, countPredictions, listingsWithoutPrediction } from '../db/model-inputs-repo.js';
import type { Db } from '../db/pool.js';
import { currentEntry, readManifest } from '../models/load.js';
import { enqueueInferOnly } from '../queues/flows.js';
import type { QueueAdmin } from '../queues/queue-admin.js';
import { noWorkerWatch } from '../queues/no-worker-warning.js';
import type { Redis } from '../queues/connection.js';

export interface ClassifyResult {
  modelVersion: string;
  enqueued: number;
  predictions: number;
  seconds: number;
  incomplete?: string;
}

export async function classifyStored(
  deps: { db: Db; redis: Redis; admin: QueueAdmin; config: Config },
  opts: { wait: boolean; onProgress?: (done: number, total: number) => void; warn?: (message: string) => void },
): Promise<ClassifyResult> {
  const t0 = Date.now();
  const entry = currentEntry(await readManifest(deps.config), 'classifier');
  if (!entry) throw new Error('No classifier is registered; run `npm run cli -- train` first.');
  const todo = await listingsWithoutPrediction(deps.db, entry.version);
  const ids = todo.map((t) => t.id);
  await enqueueInferOnly(deps.redis, deps.config, todo.map((t) => ({ listingId: t.id, listingHash: t.contentHash })), entry.version, null);
  let incomplete: string | undefined;
  if (opts.wait) {
    // Progress counts the listings enqueued here only: the live infer pool may classify new listings meanwhile.
    let done = 0;
    let idle = 0;
    const watch = noWorkerWatch(deps.admin, opts.warn ?? (() => {}));
    while (done < todo.length) {
      opts.onProgress?.(done, todo.length);
      await new Promise((r) => setTimeout(r, 500));
      done = await countPredictedAmong(deps.db, entry.version, ids);
      await watch(done);
      idle = (await deps.admin.outstanding()) === 0 ? idle + 1 : 0;
      if (idle >= 20) {
        incomplete = `${todo.length - done} listing(s) got no prediction and no job is left; check the infer pool's log (does it run classifier ${entry.version}?).`;
        break;
      }
    }
    opts.onProgress?.(done, todo.length);
  }
  const predictions = await countPredictions(deps.db, entry.version);
  return { modelVersion: entry.version, enqueued: todo.length, predictions, seconds: (Date.now() - t0) / 1000, ...(incomplete ? { incomplete } : {}) };
}
