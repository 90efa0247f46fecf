// Evidence for the offline text encoder's design: 5-fold cross-validation by product id over the labelled
// sample (../shared/data/fbm), every listing scored by a model that never saw it. Prints top-1 accuracy
// of each hashed-gram view alone (body = name + description, title = name + price tokens, location),
// of their log-probability sums at a few weights, and of a k-nearest-neighbour vote on the body TF-IDF
// alone and blended in. The encoder ships all three views; the classifier learns how to weigh them.
//   npm run bench:text            BENCH_FOLDS=5   (3-6 minutes on 2 cores, mostly the k-NN; fitSeconds = the fits)
import path from 'node:path';
import { loadCatalogue } from '../src/catalogue/load-catalogue.js';
import { categoryCode, CATEGORY_NAMES } from '../src/domain/category.js';
import { idFraction } from '../src/domain/split.js';
import { DEFAULT_TEXT_FEATURES, TEXT_VIEWS, type SparseRow } from '../src/models/offline/text-features.js';
import { DEFAULT_TEXT_FIT, fitIdf, rowValues } from '../src/models/offline/text-model.js';
import { runTextFits } from '../src/models/offline/text-fit-pool.js';
import type { TextFitTask } from '../src/models/offline/text-fit-task.js';
import { report } from './api-support.js';
import { requireSample } from './sample.js';

const fbm = requireSample('bench:text');
const FOLDS = Number(process.env.BENCH_FOLDS ?? 5);
const K = CATEGORY_NAMES.length;
const tp = DEFAULT_TEXT_FEATURES;

const catalogue = await loadCatalogue({
  productsPath: path.join(fbm, 'Products.csv'), imagesPath: path.join(fbm, 'Images.csv'), imageDir: path.join(fbm, 'images'),
});
const listings = catalogue.listings.filter((l) => l.label !== null);
const labels = listings.map((l) => categoryCode(l.label!));
const foldOf = listings.map((l) => Math.floor(idFraction(l.id) * FOLDS));

// The views exactly as the encoder builds them (body, title, location).
const views: Record<string, SparseRow[]> = Object.fromEntries(TEXT_VIEWS.map((v) => [v.name, listings.map((l) => v.row(l, tp))]));

/** Out-of-fold class log-probabilities of every listing, per view. */
const oof: Record<string, Float64Array[]> = {};
const t0 = Date.now();
// Every (view, fold) fit is one task on the encoder's own worker-thread pool, as `setup` runs them.
const jobs = Object.entries(views).flatMap(([name, rows]) => Array.from({ length: FOLDS }, (_, f) => ({ name, rows, f })));
const fitted = await runTextFits(jobs.map(({ rows, f }): TextFitTask => {
  const train = listings.map((_, i) => i).filter((i) => foldOf[i] !== f);
  return {
    rows: train.map((i) => rows[i]!), labels: train.map((i) => labels[i]!), buckets: 2 ** tp.bits, classes: K, fit: DEFAULT_TEXT_FIT,
    embed: rows.filter((_, i) => foldOf[i] === f), keepModel: false,
  };
}));
for (const name of Object.keys(views)) oof[name] = new Array<Float64Array>(listings.length);
jobs.forEach(({ name, f }, j) => {
  let q = 0;
  listings.forEach((_, i) => { if (foldOf[i] === f) oof[name]![i] = Float64Array.from(fitted[j]!.embeddings[q++]!); });
});

const fitSeconds = Math.round((Date.now() - t0) / 100) / 10;

// k-NN vote (k = 10, cosine on the body's TF-IDF, IDF fitted on the other folds), through an inverted
// index so that each query only touches the training rows that share a gram with it.
const knn = new Array<Float64Array>(listings.length);
for (let f = 0; f < FOLDS; f++) {
  const train = listings.map((_, i) => i).filter((i) => foldOf[i] !== f);
  const idf = fitIdf(train.map((i) => views.body![i]!), 2 ** tp.bits);
  const postings = new Map<number, { doc: number; w: number }[]>();
  train.forEach((i, doc) => {
    const r = views.body![i]!;
    const v = rowValues(r, idf);
    r.ids.forEach((id, j) => {
      const list = postings.get(id) ?? [];
      list.push({ doc, w: v[j]! });
      postings.set(id, list);
    });
  });
  const sims = new Float64Array(train.length);
  listings.forEach((_, i) => {
    if (foldOf[i] !== f) return;
    sims.fill(0);
    const r = views.body![i]!;
    const v = rowValues(r, idf);
    r.ids.forEach((id, j) => {
      for (const p of postings.get(id) ?? []) sims[p.doc]! += v[j]! * p.w;
    });
    const top = Array.from(sims, (s, doc) => [s, doc] as const).sort((a, b) => b[0] - a[0]).slice(0, 10);
    const votes = new Float64Array(K).fill(1e-3);
    for (const [s, doc] of top) votes[labels[train[doc]!]!]! += s;
    const z = votes.reduce((a, b) => a + b, 0);
    knn[i] = votes.map((x) => Math.log(x / z));
  });
}
oof.knn = knn;

const accuracy = (weights: Record<string, number>): number => {
  let correct = 0;
  listings.forEach((_, i) => {
    const s = new Float64Array(K);
    for (const [name, w] of Object.entries(weights)) oof[name]![i]!.forEach((v, k) => (s[k]! += w * v));
    if (s.indexOf(Math.max(...s)) === labels[i]) correct++;
  });
  return Math.round((correct / listings.length) * 10000) / 100;
};

report('text-alternatives', {
  catalogue: fbm,
  listings: listings.length,
  folds: FOLDS,
  seconds: Math.round((Date.now() - t0) / 100) / 10,
  fitSeconds,
  accuracyPercent: {
    body: accuracy({ body: 1 }),
    title: accuracy({ title: 1 }),
    location: accuracy({ location: 1 }),
    knnBody: accuracy({ knn: 1 }),
    'body+title': accuracy({ body: 1, title: 1 }),
    'body+0.5*title': accuracy({ body: 1, title: 0.5 }),
    'body+title+0.2*location': accuracy({ body: 1, title: 1, location: 0.2 }),
    'body+0.5*title+0.2*location': accuracy({ body: 1, title: 0.5, location: 0.2 }),
    'body+title+0.5*knn': accuracy({ body: 1, title: 1, knn: 0.5 }),
  },
});
