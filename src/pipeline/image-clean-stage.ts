// Stage 1 (image-clean pool): read one photo, clean it with sharp (RGB, letterbox), embed it when an
// image encoder is registered, and record the outcome. Bad photos end as a recorded per-image failure.
import type { Config } from '../config.js';
import type { Queryable } from '../db/pool.js';
import { markImageCleaned, markImageFailed } from '../db/images-repo.js';
import { upsertImageEmbeddingIfCurrent } from '../db/embeddings-repo.js';
import { isCurrentContent } from '../db/listings-repo.js';
import { cleanImage } from '../images/index.js';
import { readPhoto, type PhotoFetchConfig } from '../photos/read-photo.js';
import { QUEUES, imageCleanPayload, parsePayload } from '../queues/registry.js';
import { isFinalAttempt, reasonCode, type AttemptInfo } from './errors.js';
import type { ImageEmbedder } from './model-ports.js';

export interface ImageCleanDeps {
  db: Queryable;
  config: Pick<Config, 'IMAGE_LETTERBOX_SIZE' | 'IMAGE_MAX_BYTES' | 'IMAGE_MAX_PIXELS'> & PhotoFetchConfig;
  embedder: ImageEmbedder | null;
  /** Reads a photo's bytes from its source (file path, upload:<id>, or a guarded http(s) URL); tests may replace it. */
  readSource?: (source: string, maxBytes: number) => Promise<Buffer>;
}

/** A cleaned photo, or 'stale': its listing's content moved on (newer jobs own the photo), nothing written. */
export type ImageCleanResult = CleanedPhotoResult | { outcome: 'stale' };

export interface CleanedPhotoResult {
  outcome: 'cleaned';
  bytes: number;
  pixels: number;
  embedded: boolean;
  /**
   * The image encoder's provider and how long the photo's embedding took, or null without an encoder.
   * The pool runs this stage in sandboxed child processes whose metrics nobody scrapes, so the parent
   * records the encoder's metrics from this part of the job's result (start-pool.ts).
   */
  encoder: { provider: string; seconds: number } | null;
}

export async function runImageClean(deps: ImageCleanDeps, data: unknown, attempt: AttemptInfo): Promise<ImageCleanResult> {
  const p = parsePayload(imageCleanPayload, data, QUEUES.imageClean);
  const current = { listingId: p.listingId, contentHash: p.listingHash };
  // An edited listing has fresh jobs for its photos: skip the work (a completed job, no retries spent).
  if (!(await isCurrentContent(deps.db, current))) return { outcome: 'stale' };
  try {
    const read = deps.readSource ?? ((source: string, max: number) => readPhoto(source, max, deps));
    const bytes = await read(p.source, deps.config.IMAGE_MAX_BYTES);
    const cleaned = await cleanImage(bytes, {
      size: deps.config.IMAGE_LETTERBOX_SIZE,
      maxBytes: deps.config.IMAGE_MAX_BYTES,
      maxPixels: deps.config.IMAGE_MAX_PIXELS,
    });
    const embedStart = performance.now();
    const vector = deps.embedder ? await deps.embedder.embed(cleaned.letterboxed) : null;
    const encoder = deps.embedder ? { provider: deps.embedder.provider, seconds: (performance.now() - embedStart) / 1000 } : null;
    // Both writes check the listing's content again in their own statement: it may change meanwhile.
    const stored = await markImageCleaned(
      deps.db,
      p.imageId,
      { bytes: cleaned.bytes, width: cleaned.width, height: cleaned.height, format: cleaned.format, cleanedJpeg: cleaned.letterboxed },
      current,
    );
    if (!stored) return { outcome: 'stale' };
    if (vector && deps.embedder) {
      const embedded = await upsertImageEmbeddingIfCurrent(deps.db, deps.embedder.version, { ...current, imageId: p.imageId }, vector);
      if (!embedded) return { outcome: 'stale' };
    }
    return { outcome: 'cleaned', bytes: cleaned.bytes, pixels: cleaned.width * cleaned.height, embedded: vector !== null, encoder };
  } catch (err) {
    // Only the last attempt records the failure: an earlier transient fault may still heal.
    if (isFinalAttempt(err, attempt)) {
      await markImageFailed(deps.db, p.imageId, reasonCode(err), (err as Error).message, current);
    }
    throw err;
  }
}
