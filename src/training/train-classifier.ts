// `train`: the combined classifier, trained in TypeScript from the labelled listings and embeddings in
// Postgres (out-of-fold text embeddings for the offline text encoder), written as ONNX with its class
// table, registered as current, with a training report (JSON + loss/accuracy curves + confusion matrix).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { loadTrainingSet } from '../db/embeddings-repo.js';
import type { Db } from '../db/pool.js';
import { CATEGORY_NAMES, categoryCode, isCategoryName } from '../domain/category.js';
import { splitOf } from '../domain/split.js';
import { svgToPng } from '../images/index.js';
import type { Logger } from '../logging.js';
import { classifierColumnsOf, trainEnsemble, type MemberSummary, type TrainProgress } from '../models/classifier/train.js';
import { classifierManifestEntry, defaultClassifierPath, exportClassifierOnnx } from '../models/classifier/export.js';
import { confusionSvg, curvesSvg, type TrainingReport } from '../models/classifier/report.js';
import { currentEntry, readManifest } from '../models/load.js';
import { classifierCheckpointPath, classifierReportDir } from '../models/registry/generated-paths.js';
import { registerModel } from '../models/registry/index.js';
import { sawTestSplit } from './evaluate.js';
import { OOF_SUFFIX } from './fit-encoders.js';

export interface TrainCommandOptions {
  holdout: boolean;
  seed: number;
  epochs: number;
  lr: number;
  batchSize: number;
  patience: number;
  resume: boolean;
  /** Seed-ensemble members (seeds seed .. seed + members - 1); 1 trains a single model. */
  members: number;
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainResult {
  version: string;
  listings: number;
  seconds: number;
  reportDir: string;
  validation: TrainingReport['validation'];
  bestEpoch: number;
  stoppedEarly: boolean;
  members: MemberSummary[];
}

export async function trainFromDb(deps: { db: Db; config: Config; log: Logger }, opts: TrainCommandOptions): Promise<TrainResult> {
  const { db, config, log } = deps;
  const manifest = await readManifest(config);
  const text = currentEntry(manifest, 'text-encoder');
  const image = currentEntry(manifest, 'image-encoder');
  if (!text || !image) throw new Error('No current text and image encoders are registered; run `npm run cli -- setup` first.');
  // The offline encoders were fitted on these labels: train on their out-of-fold embeddings.
  const oof = (e: { name: string; version: string }) => (e.name.startsWith('offline-') ? e.version + OOF_SUFFIX : e.version);
  // Offline encoders fitted with the test split held out have no out-of-fold vectors for it: training
  // "on everything" would silently leave it out while recording that it did not.
  const heldOutBy = [text, image].filter((e) => e.name.startsWith('offline-') && !sawTestSplit(e)).map((e) => e.version);
  if (!opts.holdout && heldOutBy.length > 0) {
    throw new Error(
      `${heldOutBy.join(' and ')} ${heldOutBy.length === 1 ? 'was' : 'were'} fitted with the test split held out, so the test listings have no ` +
        'out-of-fold vectors to train on; run `npm run cli -- setup --no-holdout` first (or `npm run cli -- demo --no-holdout`).',
    );
  }
  const set = await loadTrainingSet(db, oof(text), oof(image));
  // A label outside the class table (stored before the webhook checked categories) is left out, not fatal.
  const unknown = set.filter((e) => !isCategoryName(e.label));
  if (unknown.length > 0) {
    log.warn({ listings: unknown.length, labels: [...new Set(unknown.map((e) => e.label))].slice(0, 5) }, `${unknown.length} listing(s) with a label outside the ${CATEGORY_NAMES.length} categories are left out of training`);
  }
  const items = set
    .filter((e) => isCategoryName(e.label) && splitOf(e.listingId, { holdout: opts.holdout }) !== 'test')
    .map((e) => ({ id: e.listingId, label: categoryCode(e.label), text: e.textEmbedding, images: e.images.map((i) => i.vector) }));
  if (items.length === 0) throw new Error('No labelled listings with embeddings are stored; run `npm run cli -- setup` (or a backfill with encoders) first.');

  const version = `combined-mlp@${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`;
  const checkpointPath = classifierCheckpointPath(config.MODELS_DIR, text.version, image.version);
  await mkdir(path.dirname(checkpointPath), { recursive: true });
  const t0 = Date.now();
  const { model, report, members } = trainEnsemble(items, {
    members: opts.members,
    seed: opts.seed,
    epochs: opts.epochs,
    lr: opts.lr,
    batchSize: opts.batchSize,
    patience: opts.patience,
    classes: CATEGORY_NAMES.length,
    imageColumns: classifierColumnsOf(image),
    checkpointPath,
    resume: opts.resume,
    onProgress: opts.onProgress,
  });
  const seconds = (Date.now() - t0) / 1000;

  const file = exportClassifierOnnx(model, defaultClassifierPath(config.MODELS_DIR, version), config.MODELS_DIR);
  const entry = classifierManifestEntry(model, file, {
    version,
    classes: [...CATEGORY_NAMES],
    imageEncoder: image.version,
    textEncoder: text.version,
    notes: {
      listings: items.length, seconds, holdout: opts.holdout, members,
      validation: { accuracy: report.validation.accuracy, macroF1: report.validation.macroF1 },
    },
  });
  await registerModel(config.MODELS_DIR, entry, { makeCurrent: true });

  const reportDir = classifierReportDir(config.MODELS_DIR, version);
  await mkdir(reportDir, { recursive: true });
  const curves = curvesSvg(report.history);
  const confusion = confusionSvg(report.validation.confusion, [...CATEGORY_NAMES]);
  await writeFile(path.join(reportDir, 'report.json'), JSON.stringify({ version, listings: items.length, seconds, members, ...report }, null, 2));
  await writeFile(path.join(reportDir, 'curves.svg'), curves);
  await writeFile(path.join(reportDir, 'confusion.svg'), confusion);
  await writeFile(path.join(reportDir, 'curves.png'), await svgToPng(curves));
  await writeFile(path.join(reportDir, 'confusion.png'), await svgToPng(confusion));
  log.info({ version, seconds, accuracy: report.validation.accuracy }, 'classifier trained and made current');
  return { version, listings: items.length, seconds, reportDir, validation: report.validation, bestEpoch: report.bestEpoch, stoppedEarly: report.stoppedEarly, members };
}
