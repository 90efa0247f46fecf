// fitOfflineEncoders: the "offline default" models (DESIGN.md section 4), fitted from the catalogue
// itself with no download. Text: hashed n-gram TF-IDF -> supervised class log-probabilities. Image:
// k-means patch features + colour histogram (unsupervised). Because the text encoder is supervised, its
// embeddings of the listings it was fitted on are over-confident; the classifier must be trained on the
// out-of-fold embeddings returned here (K-fold cross-fitting), not on re-encoded training listings.
import path from 'node:path';
import type { ManifestEntry } from '../manifest-types.js';
import {
  DEFAULT_IMAGE_FEATURES, DEFAULT_IMAGE_FIT, fitImageModel, imageEmbeddingDim, imageModelOnnx, toChw,
  type ImageFeatureParams, type ImageFitOptions,
} from './image-model.js';
import { writeModelFile } from './manifest-files.js';
import { idFraction } from './random.js';
import { DEFAULT_TEXT_FEATURES, sparseRow, type TextFeatureParams } from './text-features.js';
import { DEFAULT_TEXT_FIT, fitTextModel, textEmbedding, textModelOnnx, type TextFitOptions } from './text-model.js';

export interface FitInput {
  /** label = class code, or null for listings whose text may be used unsupervised only (held-out). */
  listings: { id: string; modelText: string; label: number | null }[];
  /** HWC RGB at imageFeatures.size (default 32); photos of held-out listings should be left out. */
  photos: { listingId: string; imageId: string; rgb: Float32Array | Uint8Array }[];
}

export interface FitOptions {
  modelsDir: string;
  /** Class names by code (alphabetical, DESIGN.md section 3). */
  classes: string[];
  version?: string;
  textFeatures?: TextFeatureParams;
  textFit?: TextFitOptions;
  imageFeatures?: ImageFeatureParams;
  imageFit?: ImageFitOptions;
  /** Folds for the out-of-fold text embeddings (0 disables). */
  folds?: number;
  onProgress?: (stage: string) => void;
}

export interface FitResult {
  text: ManifestEntry;
  image: ManifestEntry;
  /** listing id -> out-of-fold text embedding, for every labelled listing; train the classifier on these. */
  outOfFoldText: Map<string, Float32Array>;
  timings: { textMs: number; oofMs: number; imageMs: number };
}

export async function fitOfflineEncoders(input: FitInput, outDir: string, opts: FitOptions): Promise<FitResult> {
  const tp = opts.textFeatures ?? DEFAULT_TEXT_FEATURES;
  const tf = opts.textFit ?? DEFAULT_TEXT_FIT;
  const ip = opts.imageFeatures ?? DEFAULT_IMAGE_FEATURES;
  const K = opts.classes.length;
  const createdAt = new Date().toISOString();
  const version = opts.version ?? createdAt.replace(/\.\d+Z$/, 'Z');
  const classes = opts.classes.map((name, code) => ({ code, name }));
  const labelled = input.listings.filter((l): l is typeof l & { label: number } => l.label !== null);
  if (labelled.length < K) throw new Error(`Only ${labelled.length} labelled listings were given; the text encoder needs labelled listings of every class.`);

  let t0 = Date.now();
  opts.onProgress?.('text');
  const rowsAll = labelled.map((l) => sparseRow(l.modelText, tp));
  const labels = labelled.map((l) => l.label);
  const textModel = fitTextModel(rowsAll, labels, 2 ** tp.bits, K, tf);
  const textMs = Date.now() - t0;

  t0 = Date.now();
  const outOfFoldText = new Map<string, Float32Array>();
  const folds = opts.folds ?? 5;
  for (let f = 0; f < folds; f++) {
    opts.onProgress?.(`text fold ${f + 1}/${folds}`);
    const inFold = labelled.map((l) => Math.floor(idFraction(l.id, 'oof') * folds) === f);
    const m = fitTextModel(rowsAll.filter((_, i) => !inFold[i]), labels.filter((_, i) => !inFold[i]), 2 ** tp.bits, K, tf);
    labelled.forEach((l, i) => { if (inFold[i]) outOfFoldText.set(l.id, textEmbedding(m, rowsAll[i]!)); });
  }
  const oofMs = Date.now() - t0;

  t0 = Date.now();
  opts.onProgress?.('image');
  const imageModel = fitImageModel(input.photos.map((p) => toChw(p.rgb, ip.size)), ip, opts.imageFit ?? DEFAULT_IMAGE_FIT);
  const imageMs = Date.now() - t0;

  const textFile = writeModelFile(path.join(outDir, `offline-text-${version.replace(/[:]/g, '')}.onnx`), textModelOnnx(textModel), opts.modelsDir);
  const imageFile = writeModelFile(path.join(outDir, `offline-image-${version.replace(/[:]/g, '')}.onnx`), imageModelOnnx(imageModel), opts.modelsDir);
  const imageDim = imageEmbeddingDim(ip);
  const text: ManifestEntry = {
    role: 'text-encoder', name: 'offline-text-hashed-ngrams', version: `offline-text@${version}`, runtime: 'onnxruntime',
    files: [textFile],
    inputs: [{ name: 'ids', type: 'int64', shape: ['batch', 'tokens'] }, { name: 'tf', type: 'float32', shape: ['batch', 'tokens'] }],
    outputs: [{ name: 'embedding', type: 'float32', shape: ['batch', K] }],
    preprocessing: { ...tp, hash: 'fnv1a32', grams: 'w<n>:<words joined by space>, c:<char n-gram of <word>>', tf: '1+ln(count)', clean: 'DESIGN.md section 3' },
    classes, embeddingDim: K, createdAt,
    notes: { fit: tf, labelledListings: labelled.length, outOfFoldFolds: folds, embedding: 'class log-probabilities' },
  };
  const image: ManifestEntry = {
    role: 'image-encoder', name: 'offline-image-kmeans-patches', version: `offline-image@${version}`, runtime: 'onnxruntime',
    files: [imageFile],
    inputs: [{ name: 'image', type: 'float32', shape: ['batch', 3, ip.size, ip.size] }],
    outputs: [{ name: 'embedding', type: 'float32', shape: ['batch', imageDim] }],
    preprocessing: { ...ip, layout: 'NCHW', scale: '[0,1] RGB', resize: `letterboxed photo resized to ${ip.size}x${ip.size}` },
    embeddingDim: imageDim, createdAt,
    notes: { fit: opts.imageFit ?? DEFAULT_IMAGE_FIT, photos: input.photos.length },
  };
  return { text, image, outOfFoldText, timings: { textMs, oofMs, imageMs } };
}
