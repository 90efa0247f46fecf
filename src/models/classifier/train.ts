// trainClassifier: mini-batch Adam on the summed cross-entropy of the combined, text and image heads,
// cosine learning-rate decay, dropout, validation split by listing id, early stopping on validation loss,
// best-checkpoint keeping, resumable checkpoints and a progress callback. Deterministic given the seed.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Rng, idFraction } from '../offline/random.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointState } from './checkpoint.js';
import {
  TRAINABLE, backward, forward, imageBranchInput, initParams, zeroGrads,
  type ClassifierModel, type ClassifierParams, type ClassifierShape, type Sample,
} from './mlp.js';
import type { ManifestEntry } from '../manifest-types.js';
import { buildReport, evaluate, type EpochRecord, type TrainingReport } from './report.js';
import { meanPhotoEmbedding } from './photo-mean.js';

export interface TrainItem { id: string; label: number; text: Float32Array | null; images: Float32Array[] }

export interface TrainProgress {
  epoch: number; epochs: number; batch: number; batches: number; loss: number; record?: EpochRecord;
  /** 1-based member of a seed ensemble being trained, and how many there are (trainEnsemble). */
  member?: number; members?: number;
}

export interface TrainOptions {
  seed: number; epochs: number; lr: number; batchSize: number; patience: number;
  hidden?: number; dropout?: number; weightDecay?: number; valFraction?: number; classes?: number;
  /** Image embedding columns [start, end) the image branch reads; see classifierColumnsOf(imageEncoderEntry). */
  imageColumns?: [number, number];
  checkpointPath?: string; resume?: boolean; onProgress?: (p: TrainProgress) => void;
}

/** The image columns the classifier should read for this image encoder (preprocessing.classifierColumns), if it names any. */
export function classifierColumnsOf(imageEncoder: ManifestEntry): [number, number] | undefined {
  const c = imageEncoder.preprocessing['classifierColumns'];
  return Array.isArray(c) && c.length === 2 && c.every((v) => typeof v === 'number') ? [c[0] as number, c[1] as number] : undefined;
}

export const toSample = (t: TrainItem): Sample => ({ text: t.text, image: meanPhotoEmbedding(t.images), label: t.label });

function stats(xs: Float32Array[], dim: number): { mean: Float32Array; std: Float32Array } {
  const mean = new Float32Array(dim), std = new Float32Array(dim);
  if (xs.length === 0) return { mean, std: std.fill(1) };
  for (const x of xs) for (let i = 0; i < dim; i++) mean[i]! += x[i]! / xs.length;
  for (const x of xs) for (let i = 0; i < dim; i++) std[i]! += (x[i]! - mean[i]!) ** 2 / xs.length;
  for (let i = 0; i < dim; i++) std[i] = Math.sqrt(std[i]!) + 1e-3;
  return { mean, std };
}

const copyParams = (p: ClassifierParams): ClassifierParams =>
  Object.fromEntries(Object.entries(p).map(([k, v]) => [k, (v as Float32Array).slice()])) as unknown as ClassifierParams;

/** DEFAULT valFraction of trainClassifier: the share of its listings held out for early stopping. */
export const DEFAULT_VAL_FRACTION = 0.1;

/** True for the listings trainClassifier holds out for early stopping (by id, so any tool can find them). */
export const inClassifierValidation = (id: string, valFraction = DEFAULT_VAL_FRACTION): boolean => idFraction(id, 'classifier-val') < valFraction;

/**
 * What a checkpoint must share with the run resuming it: the listings and their labels, the shape and the
 * settings that change the optimisation path. `epochs` and `patience` are left out so that an interrupted
 * run can be resumed with a longer budget. Without it, a checkpoint of another run (say one trained with
 * --no-holdout, on the test split) would be picked up and registered as this run's result.
 */
export function runFingerprint(items: TrainItem[], o: TrainOptions, shape: ClassifierShape): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({
    shape, seed: o.seed, lr: o.lr, batchSize: o.batchSize, valFraction: o.valFraction ?? DEFAULT_VAL_FRACTION,
    dropout: o.dropout ?? null, weightDecay: o.weightDecay ?? null,
  }));
  for (const t of [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) h.update(`\n${t.id}\t${t.label}\t${t.images.length}\t${t.text ? 1 : 0}`);
  return h.digest('hex');
}

export function trainClassifier(items: TrainItem[], o: TrainOptions): { model: ClassifierModel; report: TrainingReport } {
  const first = items.find((t) => t.text) ?? items[0];
  const firstImg = items.find((t) => t.images.length > 0);
  if (!first || !firstImg || !first.text) throw new Error('trainClassifier needs listings with text embeddings and with photo embeddings; encode the catalogue first.');
  const K = o.classes ?? 1 + Math.max(...items.map((t) => t.label));
  const fullDim = firstImg.images[0]!.length;
  const cols = o.imageColumns;
  if (cols && !(cols[0] >= 0 && cols[1] > cols[0] && cols[1] <= fullDim)) {
    throw new Error(`imageColumns [${cols.join(', ')}] do not fit image embeddings of width ${fullDim}; pass columns of the current image encoder.`);
  }
  const shape: ClassifierShape = cols
    ? { imageDim: cols[1] - cols[0], textDim: first.text.length, hidden: o.hidden ?? 128, classes: K, imageColumns: cols, imageInputDim: fullDim }
    : { imageDim: fullDim, textDim: first.text.length, hidden: o.hidden ?? 128, classes: K };
  const sample = (t: TrainItem): Sample => {
    const s = toSample(t);
    return s.image ? { ...s, image: imageBranchInput(shape, s.image).slice() } : s;
  };
  const isVal = (t: TrainItem) => inClassifierValidation(t.id, o.valFraction);
  const train = items.filter((t) => !isVal(t)).map(sample);
  const val = items.filter(isVal).map(sample);
  const valItems = items.filter(isVal);
  if (train.length === 0 || val.length === 0) throw new Error(`The validation split left ${train.length} training and ${val.length} validation listings; give more listings or change valFraction.`);

  let st: CheckpointState;
  const fingerprint = runFingerprint(items, o, shape);
  if (o.resume && o.checkpointPath && existsSync(o.checkpointPath)) {
    st = loadCheckpoint(o.checkpointPath);
    if (st.fingerprint !== fingerprint) {
      throw new Error(
        `Checkpoint ${o.checkpointPath} was written by a different training run (other listings or labels, holdout setting, seed or ` +
        'settings), so resuming it would register that run\'s weights as this one\'s; train without --resume to start afresh.',
      );
    }
  } else {
    const rng = new Rng(o.seed);
    const params = initParams(shape, () => rng.normal());
    const img = stats(train.flatMap((s) => (s.image ? [s.image] : [])), shape.imageDim);
    const txt = stats(train.flatMap((s) => (s.text ? [s.text] : [])), shape.textDim);
    Object.assign(params, { imgMean: img.mean, imgStd: img.std, txtMean: txt.mean, txtStd: txt.std });
    const zeros = () => Object.fromEntries(TRAINABLE.map((k) => [k, new Float32Array(params[k].length)]));
    st = { shape, epoch: 0, step: 0, rngState: rng.state(), params, adamM: zeros(), adamV: zeros(), best: copyParams(params), bestEpoch: -1, bestValLoss: Infinity, badEpochs: 0, history: [], fingerprint };
  }
  const model: ClassifierModel = { shape: st.shape, params: st.params };
  const H = st.shape.hidden;
  const drop = o.dropout ?? 0.3;
  const wd = o.weightDecay ?? 1e-4;
  const batches = Math.ceil(train.length / o.batchSize);

  while (st.epoch < o.epochs && st.badEpochs < o.patience) {
    const rng = Rng.fromState(st.rngState);
    const order = rng.shuffle(train.map((_, i) => i));
    const lr = o.lr * 0.5 * (1 + Math.cos((Math.PI * st.epoch) / o.epochs));
    let lossSum = 0;
    for (let b = 0; b < batches; b++) {
      const idx = order.slice(b * o.batchSize, (b + 1) * o.batchSize);
      const g = zeroGrads(model.params);
      let batchLoss = 0;
      for (const i of idx) {
        const s = train[i]!;
        const mask = Float32Array.from({ length: 2 * H }, () => (rng.next() < drop ? 0 : 1 / (1 - drop)));
        batchLoss += backward(model, forward(model, s, mask), s.label, g, 1 / idx.length, mask);
      }
      st.step++;
      const c1 = 1 - 0.9 ** st.step, c2 = 1 - 0.999 ** st.step;
      for (const k of TRAINABLE) {
        const w = model.params[k], gr = g[k], m = st.adamM[k]!, v = st.adamV[k]!;
        const decay = k.startsWith('W') ? wd : 0;
        for (let i = 0; i < w.length; i++) {
          m[i] = 0.9 * m[i]! + 0.1 * gr[i]!;
          v[i] = 0.999 * v[i]! + 0.001 * gr[i]! * gr[i]!;
          w[i]! -= lr * ((m[i]! / c1) / (Math.sqrt(v[i]! / c2) + 1e-8) + decay * w[i]!);
        }
      }
      lossSum += batchLoss;
      o.onProgress?.({ epoch: st.epoch + 1, epochs: o.epochs, batch: b + 1, batches, loss: batchLoss / idx.length });
    }
    st.rngState = rng.state();
    const tr = evaluate(model, train);
    const va = evaluate(model, val);
    const record: EpochRecord = { epoch: st.epoch + 1, lr, trainLoss: lossSum / train.length, valLoss: va.loss, trainAccuracy: tr.accuracy, valAccuracy: va.accuracy };
    st.history.push(record);
    if (va.loss < st.bestValLoss - 1e-6) {
      st.bestValLoss = va.loss; st.bestEpoch = st.epoch + 1; st.best = copyParams(model.params); st.badEpochs = 0;
    } else st.badEpochs++;
    st.epoch++;
    if (o.checkpointPath) saveCheckpoint(o.checkpointPath, st);
    o.onProgress?.({ epoch: st.epoch, epochs: o.epochs, batch: batches, batches, loss: record.trainLoss, record });
  }
  const best: ClassifierModel = { shape: st.shape, params: copyParams(st.best) };
  // Early only when patience ended the run before its epoch budget did (both can end it on the last epoch).
  const stoppedEarly = st.badEpochs >= o.patience && st.epoch < o.epochs;
  return { model: best, report: buildReport(best, valItems, st.history, st.bestEpoch, stoppedEarly) };
}

/**
 * Members of a seed ensemble: seeds seed, seed+1, ...; same data, same validation split.
 * `npm run bench:seeds` measured single seeds at 84.2-85.3% held-out (mean 84.8%) and the average of the
 * first 2 / 3 / 5 / 8 at 84.6 / 85.4 / 85.5 / 85.5%: the gain flattens after 3, while training time and
 * the classifier's compute grow with every member (5 members: batched throughput 46k vs 3: 78k listings/s).
 */
export const DEFAULT_MEMBERS = 3;

export interface MemberSummary { seed: number; bestEpoch: number; stoppedEarly: boolean; validationAccuracy: number }

/**
 * Trains `members` classifiers from consecutive seeds and returns them as one ensemble model (each head's
 * probabilities averaged; see ClassifierModel.members). A seed's run varies the held-out accuracy by about
 * a point; the average of several is both better and steadier. Each member keeps its own checkpoint
 * (<checkpointPath>.member<i> when there are several), so `resume` skips finished members and continues
 * the interrupted one. The report is the ensemble's on the validation listings, with member 1's curves.
 */
export function trainEnsemble(items: TrainItem[], o: TrainOptions & { members?: number }): { model: ClassifierModel; report: TrainingReport; members: MemberSummary[] } {
  const n = o.members ?? DEFAULT_MEMBERS;
  if (!Number.isInteger(n) || n < 1) throw new Error(`An ensemble needs a whole number of members (1 or more); got ${n}.`);
  const runs = Array.from({ length: n }, (_, i) => trainClassifier(items, {
    ...o,
    seed: o.seed + i,
    checkpointPath: o.checkpointPath && n > 1 ? `${o.checkpointPath}.member${i + 1}` : o.checkpointPath,
    onProgress: o.onProgress && ((p) => o.onProgress!({ ...p, member: i + 1, members: n })),
  }));
  if (n === 1) return { ...runs[0]!, members: [summary(o.seed, runs[0]!.report)] };
  const first = runs[0]!;
  const model: ClassifierModel = { ...first.model, members: runs.slice(1).map((r) => r.model.params) };
  const valItems = items.filter((t) => inClassifierValidation(t.id, o.valFraction));
  const report = buildReport(model, valItems, first.report.history, first.report.bestEpoch, first.report.stoppedEarly);
  return { model, report, members: runs.map((r, i) => summary(o.seed + i, r.report)) };
}

const summary = (seed: number, r: TrainingReport): MemberSummary =>
  ({ seed, bestEpoch: r.bestEpoch, stoppedEarly: r.stoppedEarly, validationAccuracy: r.validation.accuracy });
