// `evaluate`: run the current models on any labelled catalogue in the research format, in process
// (no queues, nothing written), and score text-only (per listing), image-only (per photo) and
// combined (per listing) predictions. With split "test" only the held-out 10% of product ids counts.
import { readFile, writeFile } from 'node:fs/promises';
import type { Config } from '../config.js';
import { loadCatalogue } from '../catalogue/load-catalogue.js';
import { splitOf } from '../domain/split.js';
import { cleanImage, isImageRejectedError } from '../images/index.js';
import type { Logger } from '../logging.js';
import { currentEntry, openClassifier, openImageEmbedder, openTextEmbedder, readManifest } from '../models/load.js';
import type { ManifestEntry } from '../models/manifest-types.js';
import { argmax, confusionMatrix, perClassScores, scores, type ClassScores, type Scores } from './scores.js';
import { meanPhotoEmbedding } from '../models/classifier/photo-mean.js';

export interface EvaluateResult {
  catalogue: string;
  split: 'test' | 'all';
  models: { textEncoder: string; imageEncoder: string; classifier: string };
  /**
   * Roles whose current model was fitted with the test split of product ids included (setup/train
   * --no-holdout). With split "test" and a non-empty list, the figures are in-sample, not held-out.
   */
  testSplitSeenBy: string[];
  listings: number;
  text: Scores;
  imagePerPhoto: Scores;
  combined: Scores & {
    byModality: Record<string, number>;
    /** Per class, by name: where the errors are. */
    perClass: (ClassScores & { name: string })[];
    /** Rows: true class, columns: predicted class (codes as in the class table). */
    confusion: number[][];
  };
  /** Where every input record went, so a count that differs from the file's can be explained. */
  input: EvaluateInput;
  /** Photos that could not be scored (missing file or rejected bytes); kept for older readers of the JSON. */
  unusablePhotos: number;
  seconds: number;
}

/** One line of `evaluate --predictions`: a scored listing, class names throughout. */
export interface PredictionLine {
  id: string;
  truth: string;
  combined: string;
  /** The combined prediction's probability. */
  confidence: number;
  modality: string;
  /** The text-only prediction (null without text) and each scored photo's image-only prediction. */
  text: string | null;
  photos: string[];
}

export interface EvaluateInput {
  /** Products.csv records after the header. */
  productRecords: number;
  /** Records refused by row validation (unknown category, bad id, ...); the first reasons are logged. */
  rejectedRows: number;
  /** Listings dropped as duplicates of an earlier one (DESIGN.md duplicate rule). */
  duplicates: number;
  /** Kept listings without a category, which cannot be scored. */
  unlabelled: number;
  /** Labelled listings outside the requested split (split "test" only). */
  outsideSplit: number;
  /** Listings whose category is not in the current classifier's class table: not scored. */
  notInClassTable: number;
  /**
   * Labelled listings in the split with neither model text nor a usable photo (no photos, or all missing
   * or unreadable; the pipeline marks such a listing failed): nothing to classify, so not scored.
   * `listings` = combined.count + notInClassTable + nothingToScore.
   */
  nothingToScore: number;
  photos: {
    /** Image rows attached to the scored listings. */
    listed: number;
    scored: number;
    /** Image rows whose <image id>.jpg is not in the image folder. */
    missing: number;
    /** Files the image rules refused, by rejection code (empty, corrupt, not_an_image, ...). */
    unreadable: Record<string, number>;
  };
}

export async function evaluateCatalogue(
  deps: { config: Config; log: Logger },
  paths: { productsPath: string; imagesPath: string; imageDir: string; label: string },
  opts: {
    split: 'test' | 'all'; limit?: number; onProgress?: (done: number, total: number) => void;
    /** Also write one JSON line per scored listing (truth, predictions, confidence) to this file. */
    predictionsPath?: string;
    /** Throw, before any model is loaded, when the catalogue has no labelled listing to score (the CLI). */
    requireListings?: boolean;
  },
): Promise<EvaluateResult> {
  const t0 = Date.now();
  const { config, log } = deps;
  const catalogue = await loadCatalogue({ ...paths, limit: opts.limit });
  const labelled = catalogue.listings.filter((l) => l.label !== null);
  const listings = labelled.filter((l) => opts.split === 'all' || splitOf(l.id) === 'test');
  const input: EvaluateInput = {
    productRecords: catalogue.counts.productRecords,
    rejectedRows: catalogue.counts.productRejects,
    duplicates: catalogue.counts.duplicates,
    unlabelled: catalogue.listings.length - labelled.length,
    outsideSplit: labelled.length - listings.length,
    notInClassTable: 0,
    nothingToScore: 0,
    photos: { listed: 0, scored: 0, missing: 0, unreadable: {} },
  };
  const productRejects = catalogue.rejects.filter((r) => r.file === paths.productsPath);
  if (productRejects.length > 0) {
    log.warn({ rejectedRows: productRejects.length, first: productRejects.slice(0, 5) }, `${productRejects.length} Products.csv record(s) were refused and are not scored; the first reasons are attached.`);
  }
  if (opts.requireListings && listings.length === 0) {
    throw new Error(
      `No listing of ${paths.productsPath} can be scored: of ${input.productRecords} record(s), ${input.rejectedRows} were refused ` +
        `(unknown category, bad id, ...; see the log), ${input.duplicates} were duplicates, ${input.unlabelled} have no category` +
        `${opts.split === 'test' ? ` and ${input.outsideSplit} are outside the test split (use --split all for a catalogue the models never saw)` : ''}.`,
    );
  }
  const manifest = await readManifest(config);
  const entries = { textEncoder: currentEntry(manifest, 'text-encoder'), imageEncoder: currentEntry(manifest, 'image-encoder'), classifier: currentEntry(manifest, 'classifier') };
  const classifier = await openClassifier(config, log, undefined, entries.classifier);
  const textEmbedder = await openTextEmbedder(config, log, undefined, entries.textEncoder);
  const imageEmbedder = await openImageEmbedder(config, log, undefined, entries.imageEncoder);
  if (!classifier || !textEmbedder || !imageEmbedder) {
    throw new Error('Evaluation needs a current text encoder, image encoder and classifier; run `npm run cli -- setup` and `train` first.');
  }
  if (classifier.textVersion !== textEmbedder.version || classifier.imageVersion !== imageEmbedder.version) {
    throw new Error(`The current classifier was trained on ${classifier.textVersion} / ${classifier.imageVersion} but the current encoders are ${textEmbedder.version} / ${imageEmbedder.version}; run \`npm run cli -- train\` again.`);
  }
  const testSplitSeenBy = fittedOnTestSplit(entries);
  if (opts.split === 'test' && testSplitSeenBy.length > 0) {
    log.warn({ testSplitSeenBy }, `The current ${testSplitSeenBy.join(', ')} ${testSplitSeenBy.length > 1 ? 'were' : 'was'} fitted on every labelled listing, test split included, so these test-split figures are in-sample; fit and train without --no-holdout for held-out figures, or score a catalogue the models never saw.`);
  }
  const text: { truth: number; predicted: number }[] = [];
  const photo: { truth: number; predicted: number }[] = [];
  const combined: { truth: number; predicted: number }[] = [];
  const byModality: Record<string, number> = {};
  const perListing: PredictionLine[] = [];
  const classIndex = new Map(classifier.classes.map((name, code) => [name, code]));
  try {
    const CHUNK = 64;
    for (let i = 0; i < listings.length; i += CHUNK) {
      await Promise.all(
        listings.slice(i, i + CHUNK).map(async (l) => {
          // Truth codes come from the classifier's own class table, so a model trained on another list scores right.
          const truth = classIndex.get(l.label!);
          if (truth === undefined) {
            input.notInClassTable++;
            return;
          }
          const textVec = l.modelText.trim() ? await textEmbedder.embed({ text: l.modelText, name: l.name, price: l.price, location: l.location }) : null;
          const photoVecs: Float32Array[] = [];
          for (const id of l.imageIds) {
            const img = catalogue.images.get(id);
            if (!img) continue;
            input.photos.listed++;
            const bytes = await readFile(img.path).catch((err: NodeJS.ErrnoException) => {
              if (err.code === 'ENOENT') return null;
              throw err; // a permission or I/O fault is the machine's, not the catalogue's: stop and say so
            });
            if (!bytes) {
              input.photos.missing++;
              continue;
            }
            try {
              const cleaned = await cleanImage(bytes, {
                size: config.IMAGE_LETTERBOX_SIZE, maxBytes: config.IMAGE_MAX_BYTES, maxPixels: config.IMAGE_MAX_PIXELS,
              });
              photoVecs.push(await imageEmbedder.embed(cleaned.letterboxed));
              input.photos.scored++;
            } catch (err) {
              if (!isImageRejectedError(err)) throw err;
              input.photos.unreadable[err.code] = (input.photos.unreadable[err.code] ?? 0) + 1;
            }
          }
          const textOnly = textVec ? argmax((await classifier.classify({ text: textVec, image: null })).probabilities) : null;
          if (textOnly !== null) text.push({ truth, predicted: textOnly });
          const perPhoto: number[] = [];
          for (const v of photoVecs) perPhoto.push(argmax((await classifier.classify({ text: null, image: v })).probabilities));
          photo.push(...perPhoto.map((predicted) => ({ truth, predicted })));
          const mean = meanPhotoEmbedding(photoVecs);
          if (textVec || mean) {
            const c = await classifier.classify({ text: textVec, image: mean });
            const predicted = argmax(c.probabilities);
            byModality[c.modality] = (byModality[c.modality] ?? 0) + 1;
            combined.push({ truth, predicted });
            const name = (code: number) => classifier.classes[code] ?? String(code);
            perListing.push({
              id: l.id, truth: name(truth), combined: name(predicted), confidence: c.probabilities[predicted]!, modality: c.modality,
              text: textOnly === null ? null : name(textOnly), photos: perPhoto.map(name),
            });
          } else {
            input.nothingToScore++;
          }
        }),
      );
      opts.onProgress?.(Math.min(i + CHUNK, listings.length), listings.length);
    }
  } finally {
    await Promise.all([classifier.close(), textEmbedder.close(), imageEmbedder.close()]);
  }
  const k = classifier.classes.length;
  if (input.notInClassTable > 0) {
    log.warn({ notInClassTable: input.notInClassTable, classes: classifier.classes }, `${input.notInClassTable} listing(s) have a category that the current classifier does not know, so they are not scored; train on a class table that includes it.`);
  }
  if (input.nothingToScore > 0) {
    log.warn({ nothingToScore: input.nothingToScore }, `${input.nothingToScore} listing(s) have no text and no usable photo, so they are not scored.`);
  }
  if (opts.predictionsPath) {
    perListing.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)); // listings finish in any order within a chunk
    await writeFile(opts.predictionsPath, perListing.map((p) => JSON.stringify(p)).join('\n') + (perListing.length ? '\n' : ''));
  }
  const combinedConfusion = confusionMatrix(combined, k);
  return {
    catalogue: paths.label,
    split: opts.split,
    models: { textEncoder: textEmbedder.version, imageEncoder: imageEmbedder.version, classifier: classifier.version },
    testSplitSeenBy,
    listings: listings.length,
    text: scores(text, k),
    imagePerPhoto: scores(photo, k),
    combined: {
      ...scores(combined, k), byModality,
      perClass: perClassScores(combinedConfusion).map((c) => ({ ...c, name: classifier.classes[c.code] ?? String(c.code) })),
      confusion: combinedConfusion,
    },
    input,
    unusablePhotos: input.photos.listed - input.photos.scored,
    seconds: (Date.now() - t0) / 1000,
  };
}

/**
 * Whether a model was fitted with the test split of product ids included: `setup`/`train --no-holdout`
 * record `notes.holdout: false`. Models without the note were not fitted here (pulled encoders) or
 * predate it, and count as not having seen it.
 */
export function sawTestSplit(entry: ManifestEntry | null): boolean {
  return entry?.notes?.['holdout'] === false;
}

/** The roles (keys of `entries`) whose current model saw the test split. */
function fittedOnTestSplit(entries: Record<string, ManifestEntry | null>): string[] {
  return Object.entries(entries).filter(([, e]) => sawTestSplit(e)).map(([role]) => role);
}
