// Evidence for the offline image encoder's design: per-photo top-1 accuracy of the encoder's supervised
// probe on photos of listings it never saw, K-fold by product id over the labelled sample
// (../shared/data/fbm), for each feature variant. Features come from the real ONNX graph of each
// fitted encoder, the probe is the one fitOfflineEncoders ships.
//   npm run bench:image             BENCH_FOLDS=3   (about 10 minutes on 2 cores)
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadCatalogue } from '../src/catalogue/load-catalogue.js';
import { categoryCode, CATEGORY_NAMES } from '../src/domain/category.js';
import { idFraction } from '../src/domain/split.js';
import { thumbnailRgb } from '../src/images/index.js';
import { encodeFeatures } from '../src/models/offline/fit.js';
import {
  COLOUR_ONLY_IMAGE_FEATURES, DEFAULT_IMAGE_FEATURES, DEFAULT_IMAGE_FIT, fitImageModel, imageEmbeddingDim, imageModelOnnx,
  type ImageFeatureParams,
} from '../src/models/offline/image-model.js';
import { DEFAULT_PROBE_FIT, fitProbe, probeLogProbs } from '../src/models/offline/image-probe.js';
import { report } from './api-support.js';
import { requireSample } from './sample.js';

const fbm = requireSample('bench:image');
const FOLDS = Number(process.env.BENCH_FOLDS ?? 3);
const K = CATEGORY_NAMES.length;

const variants: Record<string, ImageFeatureParams> = {
  'colour 32px (before)': COLOUR_ONLY_IMAGE_FEATURES,
  'colour on 96px pooled to 32': { ...DEFAULT_IMAGE_FEATURES, gradient: undefined },
  'colour + gradient, 128 centroids': { ...DEFAULT_IMAGE_FEATURES, gradient: { ...DEFAULT_IMAGE_FEATURES.gradient!, centroids: 128 } },
  'colour + gradient, 256 centroids (default)': DEFAULT_IMAGE_FEATURES,
};

const catalogue = await loadCatalogue({
  productsPath: path.join(fbm, 'Products.csv'), imagesPath: path.join(fbm, 'Images.csv'), imageDir: path.join(fbm, 'images'),
});
const photos: { listingId: string; label: number; bytes: Buffer }[] = [];
for (const l of catalogue.listings) {
  if (l.label === null) continue;
  for (const id of l.imageIds) {
    const file = path.join(fbm, 'images', `${id}.jpg`);
    if (existsSync(file)) photos.push({ listingId: l.id, label: categoryCode(l.label), bytes: await readFile(file) });
  }
}
const foldOf = photos.map((p) => Math.floor(idFraction(p.listingId) * FOLDS));
const thumbs = new Map<number, (Uint8Array | null)[]>();
async function thumbnails(size: number): Promise<(Uint8Array | null)[]> {
  if (!thumbs.has(size)) {
    // A photo that does not decode is left out of every variant alike (and counted).
    thumbs.set(size, await Promise.all(photos.map((p) => thumbnailRgb(p.bytes, size).catch(() => null))));
  }
  return thumbs.get(size)!;
}

const results: Record<string, { accuracyPercent: number; features: number; fitSeconds: number; encodeSeconds: number; probeSeconds: number }> = {};
let scored = 0;
for (const [name, params] of Object.entries(variants)) {
  const rgb = await thumbnails(params.size);
  const ok = photos.map((_, i) => i).filter((i) => rgb[i] !== null);
  let correct = 0, fitMs = 0, encodeMs = 0, probeMs = 0;
  for (let f = 0; f < FOLDS; f++) {
    const train = ok.filter((i) => foldOf[i] !== f);
    const test = ok.filter((i) => foldOf[i] === f);
    let t = Date.now();
    const model = await fitImageModel(train.map((i) => rgb[i]!), params, DEFAULT_IMAGE_FIT);
    fitMs += Date.now() - t;
    t = Date.now();
    const F = imageEmbeddingDim(params);
    const feats = await encodeFeatures(imageModelOnnx(model), ok.map((i) => rgb[i]!), params.size);
    encodeMs += Date.now() - t;
    const row = new Map(ok.map((i, r) => [i, r]));
    const x = new Float32Array(train.length * F);
    train.forEach((i, r) => x.set(feats.subarray(row.get(i)! * F, (row.get(i)! + 1) * F), r * F));
    t = Date.now();
    const probe = await fitProbe(x, train.length, F, train.map((i) => photos[i]!.label), K, DEFAULT_PROBE_FIT);
    probeMs += Date.now() - t;
    for (const i of test) {
      const lp = probeLogProbs(probe, feats.subarray(row.get(i)! * F, (row.get(i)! + 1) * F));
      if (lp.indexOf(Math.max(...lp)) === photos[i]!.label) correct++;
    }
  }
  scored = ok.length;
  results[name] = {
    accuracyPercent: Math.round((correct / ok.length) * 10000) / 100, features: imageEmbeddingDim(params),
    fitSeconds: Math.round(fitMs / FOLDS / 100) / 10, encodeSeconds: Math.round(encodeMs / FOLDS / 100) / 10, probeSeconds: Math.round(probeMs / FOLDS / 100) / 10,
  };
  console.error(name, results[name]);
}

report('image-alternatives', {
  catalogue: fbm, photos: photos.length, scoredPhotos: scored, folds: FOLDS,
  note: 'per-photo top-1 of the probe on photos of listings outside the fold it was fitted on; seconds are per fold',
  variants: results,
});
