// One text-encoder fit as a self-contained task (plain data in, plain data out), so the fits of `setup`
// (every view, the full model and each out-of-fold fold) can run on worker threads in parallel.
import type { SparseRow } from './text-features.js';
import { fitTextModel, textEmbedding, type TextFitOptions, type TextModel } from './text-model.js';

export interface TextFitTask {
  rows: SparseRow[];
  labels: number[];
  buckets: number;
  classes: number;
  fit: TextFitOptions;
  /** Rows to embed with the fitted model (the fold's held-out listings). */
  embed: SparseRow[];
  /** Return the fitted model itself (the full fits, which become the ONNX encoder). */
  keepModel: boolean;
}

export interface TextFitResult {
  model: TextModel | null;
  embeddings: Float32Array[];
}

export function runTextFitTask(t: TextFitTask): TextFitResult {
  const model = fitTextModel(t.rows, t.labels, t.buckets, t.classes, t.fit);
  return { model: t.keepModel ? model : null, embeddings: t.embed.map((r) => textEmbedding(model, r)) };
}
