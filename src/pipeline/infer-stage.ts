// Stage 3 (infer pool, the flow's parent): runs once every photo and the text of a listing have been
// handled. Classifies from whatever the listing has (photos, text or both) with the current combined
// classifier, stores the prediction, and records the listing's final status with a readable reason.
import type { Queryable } from '../db/pool.js';
import { getImageEmbeddings, getTextEmbeddings } from '../db/embeddings-repo.js';
import { imagesForListing } from '../db/images-repo.js';
import { getListing, markFailed, markProcessed } from '../db/listings-repo.js';
import { upsertPredictionIfCurrent } from '../db/predictions-repo.js';
import { inferPayload, parsePayload, QUEUES, type InferPayload } from '../queues/registry.js';
import { isFinalAttempt, type AttemptInfo } from './errors.js';
import type { ListingClassifier, Modality } from './model-ports.js';
import { meanPhotoEmbedding } from '../models/classifier/photo-mean.js';

export interface InferDeps {
  db: Queryable;
  classifier: ListingClassifier | null;
  /** Re-reads the manifest now and returns the classifier then current (the pool also polls it). */
  refreshClassifier?: () => Promise<ListingClassifier | null>;
  /** Called for each stored prediction (metrics: category mix, confidence, end-to-end latency). */
  onPrediction?: (p: { category: string; modality: Modality; topProbability: number; receivedAt: number }) => void;
}

export type InferResult =
  | { outcome: 'predicted'; category: string; modality: Modality; photos: PhotoSummary }
  | { outcome: 'processed_without_model'; photos: PhotoSummary }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'stale' };

interface PhotoSummary {
  total: number;
  cleaned: number;
  failed: number;
}

export async function runInfer(deps: InferDeps, data: unknown, attempt: AttemptInfo): Promise<InferResult> {
  const p = parsePayload(inferPayload, data, QUEUES.infer);
  try {
    return await inferListing(deps, p);
  } catch (err) {
    // The listing's flow ends here, so its last attempt records why; otherwise the listing would stay
    // pending with no job left for it. A `classify` job (modelVersion set) is for a listing already
    // processed: its failure costs only the new prediction, which the next `classify` asks for again.
    if (!p.modelVersion && isFinalAttempt(err, attempt)) {
      const tries = attempt.attemptsMade + 1;
      const reason =
        `Classification failed after ${tries} attempt${tries === 1 ? '' : 's'}: ${(err as Error).message} ` +
        'Fix the cause, then run `queues retry infer`, or resubmit the listing with changed content.';
      await markFailed(deps.db, p.listingId, p.listingHash, reason);
    }
    throw err;
  }
}

async function inferListing(deps: InferDeps, p: InferPayload): Promise<InferResult> {
  const listing = await getListing(deps.db, p.listingId);
  if (!listing || listing.contentHash !== p.listingHash) return { outcome: 'stale' };

  if (p.modelVersion && deps.classifier?.version !== p.modelVersion && deps.refreshClassifier) {
    // `classify` asks for the version it just registered; load it now rather than at the next poll.
    deps = { ...deps, classifier: await deps.refreshClassifier() };
  }
  if (p.modelVersion && deps.classifier?.version !== p.modelVersion) {
    // The pool reloads the manifest every few seconds; retrying (with backoff) lets it catch up.
    throw new Error(
      `This infer pool runs classifier ${deps.classifier?.version ?? '(none)'} but the job asks for ${p.modelVersion}; ` +
        'retrying after the pool reloads its models (check MODELS_DIR is shared if this persists).',
    );
  }
  const images = await imagesForListing(deps.db, listing.id);
  const cleaned = images.filter((i) => i.status === 'cleaned');
  const photos = { total: images.length, cleaned: cleaned.length, failed: images.filter((i) => i.status === 'failed').length };
  const hasText = listing.modelText.trim() !== '';
  if (!hasText && cleaned.length === 0) {
    const why = images.length === 0 ? 'it has no photos' : `none of its ${images.length} photo(s) could be used`;
    const reason = `The listing has no text to classify and ${why}; fix the source listing and resubmit it.`;
    await markFailed(deps.db, listing.id, listing.contentHash, reason);
    return { outcome: 'failed', reason };
  }

  if (!deps.classifier) {
    await markProcessed(deps.db, listing.id, listing.contentHash);
    return { outcome: 'processed_without_model', photos };
  }

  const c = deps.classifier;
  const [textRows, imageRows] = await Promise.all([
    // The vector of this content: after an edit, the previous content's may still be stored.
    hasText ? getTextEmbeddings(deps.db, c.textVersion, [{ listingId: listing.id, contentHash: listing.contentHash }]) : Promise.resolve(new Map<string, Float32Array>()),
    getImageEmbeddings(deps.db, c.imageVersion, cleaned.map((i) => i.id)),
  ]);
  const text = textRows.get(listing.id) ?? null;
  const image = meanPhotoEmbedding([...imageRows.values()]);
  if (!text && !image) {
    // Embeddings come from the child jobs; without any the classifier has nothing to read.
    throw new Error(
      `Listing ${listing.id} has no ${c.textVersion} text embedding and no ${c.imageVersion} photo embedding; ` +
        'the text-embed/image-clean pools may run other model versions than the infer pool: restart them on the same models.',
    );
  }
  const result = await c.classify({ text, image });
  let best = 0;
  for (let i = 1; i < result.probabilities.length; i++) if (result.probabilities[i]! > result.probabilities[best]!) best = i;
  const category = c.classes[best]!;
  const stored = await upsertPredictionIfCurrent(deps.db, { listingId: listing.id, contentHash: listing.contentHash }, {
    listingId: listing.id,
    modelVersion: c.version,
    category,
    categoryCode: best,
    probabilities: result.probabilities,
    modality: result.modality,
    embedding: result.embedding,
  });
  // The listing was edited while this job classified it: the new content's own flow predicts it.
  if (!stored) return { outcome: 'stale' };
  await markProcessed(deps.db, listing.id, listing.contentHash);
  deps.onPrediction?.({ category, modality: result.modality, topProbability: result.probabilities[best]!, receivedAt: p.receivedAt });
  return { outcome: 'predicted', category, modality: result.modality, photos };
}
