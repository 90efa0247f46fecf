// Recording a job's final failure where its handler could not. A stage records its own failures on its
// last attempt (image-clean-stage.ts, infer-stage.ts), but some jobs fail for good without that code
// running to its end: BullMQ fails a job that stalled too often (its worker was SIGKILLed or OOM-killed
// with it, twice) at its next pickup without running the handler, and a sandboxed child that dies on the
// job (a native crash) never reaches its catch. Without this the photo, or the listing, stayed 'pending'
// for good while its flow had finished. Called by the pool process when a job has failed for good.
import type { Queryable } from '../db/pool.js';
import { imagesForListing, markImageFailed } from '../db/images-repo.js';
import { getListing, markFailed } from '../db/listings-repo.js';
import { QUEUES, imageCleanPayload, inferPayload } from '../queues/registry.js';

function explain(reason: string, message: string): string {
  if (reason === 'stalled') {
    return 'Its job was given up on after the worker processing it stopped mid-job more than once (killed, out of memory, or ' +
      'crashed), so it may be what brings workers down; check the pool logs and memory, then resubmit it or run `queues retry`.';
  }
  return `Its job failed for good without recording why (${message}); check the pool logs, then run \`queues retry\` or resubmit it.`;
}

/**
 * Marks the job's photo (image-clean) or listing (infer, not `classify`) failed, with why, when it is still
 * pending for the content the job was for. Returns whether anything was written. Text-embed has no row of
 * its own: its listing's infer job reads what is there.
 */
export async function recordFinalFailure(db: Queryable, queue: string, data: unknown, reason: string, message: string): Promise<boolean> {
  if (queue === QUEUES.imageClean) {
    const p = imageCleanPayload.safeParse(data);
    if (!p.success) return false;
    const { listingId, imageId, listingHash } = p.data;
    const image = (await imagesForListing(db, listingId)).find((i) => i.id === imageId);
    // A recorded outcome (the handler's own failure with its precise code) is left as it is.
    if (image?.status !== 'pending') return false;
    return markImageFailed(db, imageId, reason, `The photo could not be processed. ${explain(reason, message)}`, { listingId, contentHash: listingHash });
  }
  if (queue === QUEUES.infer) {
    const p = inferPayload.safeParse(data);
    // A `classify` job's listing is already processed: its failure costs only the new prediction.
    if (!p.success || p.data.modelVersion) return false;
    const listing = await getListing(db, p.data.listingId);
    if (listing?.status !== 'pending' || listing.contentHash !== p.data.listingHash) return false;
    return markFailed(db, listing.id, listing.contentHash, `Classification did not finish. ${explain(reason, message)}`);
  }
  return false;
}
