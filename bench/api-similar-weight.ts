// Chooses SEARCH_CATEGORY_WEIGHT (ranking score = cosine + weight x P(query in the row's category)) on
// validation listings, then reports what each weight gives on the held-out test split.
//
// The validation queries are the listings the classifier held out for early stopping (never trained
// on), classified from their out-of-fold text and photo embeddings. Why: the offline encoders were
// fitted on every non-test listing, so the stored predictions of those listings are in-sample (99.7%
// accurate) and every weight looks perfect on them; the classifier was trained on out-of-fold
// embeddings, so classifying a held-out listing from its out-of-fold ones gives the probabilities and
// fused embedding of a listing neither the encoders nor the classifier saw, which is what a new
// listing's query looks like. Their neighbours are the stored rows of non-test listings (test labels
// are only read for the report).
//   npm run bench:api:weight        (after npm run bench:api:prepare)
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { loadTrainingSet } from '../src/db/embeddings-repo.js';
import { createDb } from '../src/db/pool.js';
import { latestPredictionVersion } from '../src/db/search-repo.js';
import { CATEGORY_NAMES } from '../src/domain/category.js';
import { splitOf } from '../src/domain/split.js';
import { currentEntry, openClassifier, readManifest } from '../src/models/load.js';
import { inClassifierValidation } from '../src/models/classifier/train.js';
import { ExactIndex } from '../src/search/exact-index.js';
import { categoryPrior } from '../src/search/category-prior.js';
import { OOF_SUFFIX } from '../src/training/fit-encoders.js';
import { argmax } from '../src/training/scores.js';
import { fromArraySend } from '../src/db/vectors.js';
import { benchEnv, benchSchemaProblem, benchModelsProblem, exitIfProblem, report } from './api-support.js';
import { meanPhotoEmbedding } from '../src/models/classifier/photo-mean.js';

const K = 10;
const WEIGHTS = [0, 0.25, 0.5, 1, 2, 4, 8];
const env = benchEnv();
const config = loadConfig(env);
const db = createDb(config);
const log = pino({ level: 'warn' });
exitIfProblem('bench:api:weight', (await benchSchemaProblem(db, config.DB_SCHEMA)) ?? (await benchModelsProblem(config.MODELS_DIR)));
const version = await latestPredictionVersion(db);
const manifest = await readManifest(config);
const text = currentEntry(manifest, 'text-encoder');
const image = currentEntry(manifest, 'image-encoder');
if (!version || !text || !image) throw new Error('The bench schema has no predictions or encoders; run `npm run bench:api:prepare` first.');

interface Row { id: string; label: string | null; embedding: Float32Array; probabilities: Float32Array }
// The index's category of a row is what SearchIndex uses (search-repo.ts): its own label, else the predicted one.
const stored: (Row & { category: string })[] = (await db.query<{ listing_id: string; label: string | null; category: string; embedding: Buffer; probabilities: Buffer }>(
  `SELECT p.listing_id, l.label, coalesce(l.label, p.category) AS category, array_send(p.embedding) AS embedding,
     array_send(p.probabilities) AS probabilities
   FROM predictions p JOIN listings l ON l.id = p.listing_id WHERE p.model_version = $1`, [version],
)).rows.map((r) => ({ id: r.listing_id, label: r.label, category: r.category, embedding: fromArraySend(r.embedding), probabilities: fromArraySend(r.probabilities) }));

// Validation queries from out-of-fold embeddings, through the classifier the API runs.
const classifier = await openClassifier(config, log);
if (!classifier || classifier.version !== version) throw new Error(`The current classifier is not ${version}; run \`npm run bench:api:prepare\` again.`);
const oof = (await loadTrainingSet(db, text.version + OOF_SUFFIX, image.version + OOF_SUFFIX)).filter((e) => splitOf(e.listingId) !== 'test' && inClassifierValidation(e.listingId));
const valQueries: Row[] = await Promise.all(oof.map(async (e) => {
  const c = await classifier.classify({ text: e.textEmbedding, image: meanPhotoEmbedding(e.images.map((i) => i.vector)) });
  return { id: e.listingId, label: e.label, embedding: c.embedding, probabilities: c.probabilities };
}));
await classifier.close();
await db.close();

/** Share of the k nearest (query itself left out) whose catalogue category is the query's, per weight. */
function shares(rows: (Row & { category: string })[], queries: Row[]): { accuracy: number; byWeight: { weight: number; share: number }[] } {
  const index = new ExactIndex();
  for (const r of rows) index.upsert(r.id, r.category, r.embedding);
  const label = new Map(rows.map((r) => [r.id, r.label]));
  const byWeight: { weight: number; share: number }[] = [];
  for (const w of WEIGHTS) {
    let same = 0;
    for (const q of queries) {
      const hits = index.search(q.embedding, { k: K, excludeId: q.id, prior: categoryPrior(CATEGORY_NAMES, q.probabilities, w) });
      same += hits.filter((h) => label.get(h.id) === q.label).length;
    }
    byWeight.push({ weight: w, share: round(same / (K * Math.max(1, queries.length))) });
  }
  const correct = queries.filter((q) => CATEGORY_NAMES[argmax(q.probabilities)] === q.label).length;
  return { accuracy: round(correct / Math.max(1, queries.length)), byWeight };
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

const validation = shares(stored.filter((r) => splitOf(r.id) !== 'test'), valQueries);
// The rule, fixed before looking: the highest validation share; a tie goes to the smaller weight.
const chosen = validation.byWeight.reduce((best, w) => (w.share > best.share ? w : best)).weight;
const testQueries = stored.filter((r) => splitOf(r.id) === 'test' && r.label !== null);
const test = shares(stored, testQueries);

report('similar-weight', {
  modelVersion: version,
  k: K,
  validation: { queries: valQueries.length, note: "the classifier's early-stopping listings, from out-of-fold embeddings; neighbours: every non-test listing", classifierAccuracy: validation.accuracy, sameCategoryShare: validation.byWeight },
  chosenWeight: chosen,
  configuredWeight: config.SEARCH_CATEGORY_WEIGHT,
  test: { queries: testQueries.length, classifierAccuracy: test.accuracy, sameCategoryShare: test.byWeight, atChosenWeight: test.byWeight.find((w) => w.weight === chosen)!.share, target: '>= 0.85' },
});
