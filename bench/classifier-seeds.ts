// How much of a held-out accuracy figure is the classifier's seed: trains the combined classifier with
// BENCH_SEEDS seeds on the stored out-of-fold embeddings of the current encoders (as `train` does, test
// split kept out) and prints each seed's validation and held-out accuracy, their spread, and the
// accuracy of the averaged probabilities of seeds 1..k for every k (an ensemble of k members). Nothing is registered or written.
// Needs a database where `npm start` (or setup) has run with the holdout on.
//   npm run bench:seeds              BENCH_SEEDS=8   (about 10 s per seed on 2 cores)
import { loadConfig } from '../src/config.js';
import { loadTrainingSet, type TrainingExample } from '../src/db/embeddings-repo.js';
import { createDb } from '../src/db/pool.js';
import { CATEGORY_NAMES, categoryCode } from '../src/domain/category.js';
import { splitOf } from '../src/domain/split.js';
import { currentEntry, readManifest } from '../src/models/load.js';
import { bestProbs } from '../src/models/classifier/report.js';
import { classifierColumnsOf, toSample, trainClassifier, type TrainItem } from '../src/models/classifier/train.js';
import { OOF_SUFFIX } from '../src/training/fit-encoders.js';
import { report } from './api-support.js';

const SEEDS = Number(process.env.BENCH_SEEDS ?? 8);
const config = loadConfig();
const manifest = await readManifest(config);
const text = currentEntry(manifest, 'text-encoder');
const image = currentEntry(manifest, 'image-encoder');
if (!text || !image) {
  console.error('bench:seeds needs current encoders with stored embeddings; run `npm start` first.');
  process.exit(2);
}
const db = createDb(config);
const toItem = (e: TrainingExample): TrainItem => ({ id: e.listingId, label: categoryCode(e.label), text: e.textEmbedding, images: e.images.map((i) => i.vector) });
const oof = (v: string, name: string) => (name.startsWith('offline-') ? v + OOF_SUFFIX : v);
const train = (await loadTrainingSet(db, oof(text.version, text.name), oof(image.version, image.name))).filter((e) => splitOf(e.listingId) !== 'test').map(toItem);
const test = (await loadTrainingSet(db, text.version, image.version)).filter((e) => splitOf(e.listingId) === 'test').map(toItem);
await db.close();
if (train.length === 0 || test.length === 0) {
  console.error(`bench:seeds found ${train.length} training and ${test.length} held-out listings with embeddings; run \`npm start\` (setup with the holdout on) first.`);
  process.exit(2);
}

const K = CATEGORY_NAMES.length;
const accuracy = (probs: ArrayLike<number>[]): number => {
  let correct = 0;
  probs.forEach((p, i) => { if (Array.from(p).indexOf(Math.max(...Array.from(p))) === test[i]!.label) correct++; });
  return correct / test.length;
};
const pct = (x: number) => Math.round(x * 10000) / 100;
const sum = test.map(() => new Float64Array(K));
const perSeed: { seed: number; validation: number; heldOut: number; ensembleOfSeedsSoFar: number }[] = [];
for (let seed = 1; seed <= SEEDS; seed++) {
  const { model, report: r } = trainClassifier(train, { seed, epochs: 40, lr: 0.001, batchSize: 64, patience: 5, classes: K, imageColumns: classifierColumnsOf(image) });
  const probs = test.map((t) => bestProbs(model, toSample(t)));
  probs.forEach((p, i) => p.forEach((v, k) => (sum[i]![k]! += v)));
  perSeed.push({ seed, validation: pct(r.validation.accuracy), heldOut: pct(accuracy(probs)), ensembleOfSeedsSoFar: pct(accuracy(sum)) });
  console.error(perSeed.at(-1));
}
const held = perSeed.map((s) => s.heldOut);
report('classifier-seeds', {
  encoders: { text: text.version, image: image.version }, trainListings: train.length, heldOutListings: test.length,
  perSeed,
  heldOutPercent: { min: Math.min(...held), mean: pct(held.reduce((a, b) => a + b, 0) / held.length / 100), max: Math.max(...held), ensembleOfAllSeeds: pct(accuracy(sum)) },
});
