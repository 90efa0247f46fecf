// The offline text encoder's numeric part: IDF weights and a supervised linear projection of the
// L2-normalised TF-IDF vector onto the 13 class scores (softmax regression fitted by SGD on the
// catalogue's labelled listings). Its embedding is the log-probability vector: a 13-d space that is
// the same across refits, which is what lets out-of-fold embeddings feed the classifier (see fit.ts).
import { GraphBuilder } from '../onnx-writer/graph-builder.js';
import { Rng } from './random.js';
import type { SparseRow } from './text-features.js';
import { logSoftmax } from './linalg.js';

export interface TextModel {
  buckets: number;
  classes: number;
  idf: Float32Array;
  /** buckets x classes, row-major. */
  weights: Float32Array;
  bias: Float32Array;
}

export interface TextFitOptions {
  epochs: number;
  lr: number;
  l2: number;
  seed: number;
}

export const DEFAULT_TEXT_FIT: TextFitOptions = { epochs: 20, lr: 1, l2: 1e-6, seed: 1 };

/** Smoothed IDF (scikit-learn's formula) from the fitting rows; unseen buckets get the maximum. */
export function fitIdf(rows: SparseRow[], buckets: number): Float32Array {
  const df = new Uint32Array(buckets);
  for (const r of rows) for (const k of r.ids) df[k]!++;
  const n = rows.length;
  const idf = new Float32Array(buckets);
  for (let k = 0; k < buckets; k++) idf[k] = Math.log((1 + n) / (1 + df[k]!)) + 1;
  return idf;
}

/** TF-IDF values of one row, L2-normalised (matches the ONNX graph). */
export function rowValues(r: SparseRow, idf: Float32Array): Float32Array {
  const v = new Float32Array(r.ids.length);
  let ss = 0;
  for (let j = 0; j < v.length; j++) {
    v[j] = r.tf[j]! * idf[r.ids[j]!]!;
    ss += v[j]! * v[j]!;
  }
  const nrm = Math.max(Math.sqrt(ss), 1e-12);
  for (let j = 0; j < v.length; j++) v[j]! /= nrm;
  return v;
}

/** Log-softmax class scores of one row (the encoder's embedding). */
export function textEmbedding(m: TextModel, r: SparseRow): Float32Array {
  const v = rowValues(r, m.idf);
  const K = m.classes;
  const z = new Float64Array(K);
  for (let k = 0; k < K; k++) z[k] = m.bias[k]!;
  for (let j = 0; j < v.length; j++) {
    const o = r.ids[j]! * K;
    for (let k = 0; k < K; k++) z[k]! += v[j]! * m.weights[o + k]!;
  }
  return logSoftmax(z);
}

/** Plain SGD with linearly decaying step on the multinomial log-loss; sparse updates keep it fast. */
export function fitTextModel(rows: SparseRow[], labels: number[], buckets: number, classes: number, o: TextFitOptions): TextModel {
  const idf = fitIdf(rows, buckets);
  const values = rows.map((r) => rowValues(r, idf));
  const K = classes;
  const W = new Float32Array(buckets * K);
  const b = new Float32Array(K);
  const p = new Float64Array(K);
  const rng = new Rng(o.seed);
  const order = rows.map((_, i) => i);
  // Lazy L2: scale decay is applied to touched rows only, which is what makes sparse SGD cheap.
  for (let ep = 0; ep < o.epochs; ep++) {
    rng.shuffle(order);
    const a = o.lr * (1 - ep / o.epochs);
    for (const n of order) {
      const r = rows[n]!;
      const v = values[n]!;
      let mx = -Infinity;
      for (let k = 0; k < K; k++) {
        let s = b[k]!;
        for (let j = 0; j < v.length; j++) s += v[j]! * W[r.ids[j]! * K + k]!;
        p[k] = s;
        if (s > mx) mx = s;
      }
      let z = 0;
      for (let k = 0; k < K; k++) {
        p[k] = Math.exp(p[k]! - mx);
        z += p[k]!;
      }
      for (let k = 0; k < K; k++) p[k] = p[k]! / z - (k === labels[n] ? 1 : 0);
      for (let k = 0; k < K; k++) b[k]! -= a * p[k]!;
      for (let j = 0; j < v.length; j++) {
        const off = r.ids[j]! * K;
        for (let k = 0; k < K; k++) W[off + k]! -= a * (v[j]! * p[k]! + o.l2 * W[off + k]!);
      }
    }
  }
  return { buckets, classes, idf, weights: W, bias: b };
}

/** Symbolic token dimension of a view's inputs: "tokens" for the body (ids/tf), "<prefix>tokens" for others. */
export const viewTokensDim = (idsName: string): string => idsName.replace(/ids$/, 'tokens');

/** One hashed-gram view of the listing and the ONNX input names that carry its sparse row. */
export interface TextView { model: TextModel; ids: string; tf: string }

/**
 * ONNX graph: per view, inputs <ids> [batch, tokens] int64 and <tf> [batch, tokens] float32 (0 = padding);
 * output embedding [batch, views * K]: each view's class log-probabilities, concatenated in view order.
 */
export function textModelOnnx(views: TextModel | TextView[]): Uint8Array {
  const vs = Array.isArray(views) ? views : [{ model: views, ids: 'ids', tf: 'tf' }];
  const g = new GraphBuilder('offline_text_encoder');
  const outs = vs.map(({ model: m, ids, tf }) => {
    // Each view pads to its own width, so each gets its own symbolic token dimension.
    const tokens = viewTokensDim(ids);
    g.input(ids, 'int64', ['batch', tokens]);
    g.input(tf, 'float32', ['batch', tokens]);
    const idf = g.op('Gather', [g.init('idf', [m.buckets], m.idf), ids], { axis: 0 });
    const w = g.op('Mul', [tf, idf]);
    const nrm = g.op('Max', [g.op('ReduceL2', [w], { axes: [1], keepdims: 1 }), g.init('tiny', [1], new Float32Array([1e-12]))]);
    const wn = g.op('Unsqueeze', [g.op('Div', [w, nrm]), g.init('ax1', [1], [1])]);
    const rowsE = g.op('Gather', [g.init('proj', [m.buckets, m.classes], m.weights), ids], { axis: 0 });
    const logits = g.op('Add', [g.op('Squeeze', [g.op('MatMul', [wn, rowsE]), g.init('ax1b', [1], [1])]), g.init('bias', [m.classes], m.bias)]);
    return g.op('LogSoftmax', [logits], { axis: -1 });
  });
  const K = vs.reduce((a, v) => a + v.model.classes, 0);
  if (outs.length === 1) g.op('Identity', [outs[0]!], {}, 'embedding');
  else g.op('Concat', outs, { axis: 1 }, 'embedding');
  g.output('embedding', 'float32', ['batch', K]);
  return g.encode('Offline text encoder: hashed n-gram TF-IDF views -> supervised class log-probabilities.');
}
