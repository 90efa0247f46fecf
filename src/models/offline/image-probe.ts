// A supervised linear probe on the unsupervised image features: standardise, softmax regression
// (mini-batch Adam, L2, cosine decay), log-probabilities. The image encoder appends these 13 numbers to
// its features, which gives the classifier's image branch a compact, already-calibrated class signal.
// Being supervised, its outputs on its own training photos are over-confident, so fitOfflineEncoders
// also returns out-of-fold embeddings for the training photos (like the text encoder's).
import { Rng } from './random.js';
import { logSoftmax } from './linalg.js';

export interface ProbeFitOptions {
  epochs: number;
  lr: number;
  l2: number;
  batchSize: number;
  seed: number;
}

export const DEFAULT_PROBE_FIT: ProbeFitOptions = { epochs: 6, lr: 1e-3, l2: 1e-2, batchSize: 64, seed: 5 };

export interface ImageProbe {
  dim: number;
  classes: number;
  mean: Float32Array;
  std: Float32Array;
  /** dim x classes, row-major. */
  weights: Float32Array;
  bias: Float32Array;
}

/** Fits on feature rows (flat n x dim) with labels. */
export function fitProbe(x: Float32Array, n: number, dim: number, labels: number[], classes: number, o: ProbeFitOptions): ImageProbe {
  if (n === 0) throw new Error('The image probe needs labelled training photos; give photos of labelled listings.');
  const mean = new Float32Array(dim), std = new Float32Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += x[i * dim + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) std[j]! += (x[i * dim + j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < dim; j++) std[j] = Math.sqrt(std[j]!) + 1e-3;
  const K = classes;
  const W = new Float32Array(dim * K), b = new Float32Array(K);
  const mW = new Float32Array(dim * K), vW = new Float32Array(dim * K), gW = new Float32Array(dim * K);
  const mb = new Float32Array(K), vb = new Float32Array(K), gb = new Float32Array(K);
  const xs = new Float32Array(dim), p = new Float64Array(K);
  const rng = new Rng(o.seed);
  const order = Array.from({ length: n }, (_, i) => i);
  let t = 0;
  for (let ep = 0; ep < o.epochs; ep++) {
    rng.shuffle(order);
    const a = o.lr * 0.5 * (1 + Math.cos((Math.PI * ep) / o.epochs));
    for (let s = 0; s < n; s += o.batchSize) {
      gW.fill(0); gb.fill(0);
      const bs = Math.min(o.batchSize, n - s);
      for (let q = s; q < s + bs; q++) {
        const i = order[q]!;
        for (let j = 0; j < dim; j++) xs[j] = (x[i * dim + j]! - mean[j]!) / std[j]!;
        scores(xs, W, b, K, p);
        softmaxInPlace(p);
        for (let k = 0; k < K; k++) p[k] = (p[k]! - (k === labels[i] ? 1 : 0)) / bs;
        for (let j = 0; j < dim; j++) {
          const v = xs[j]!;
          for (let k = 0; k < K; k++) gW[j * K + k]! += v * p[k]!;
        }
        for (let k = 0; k < K; k++) gb[k]! += p[k]!;
      }
      t++;
      const c1 = 1 - 0.9 ** t, c2 = 1 - 0.999 ** t;
      adam(W, gW, mW, vW, a, c1, c2, o.l2);
      adam(b, gb, mb, vb, a, c1, c2, 0);
    }
  }
  return { dim, classes, mean, std, weights: W, bias: b };
}

function adam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, a: number, c1: number, c2: number, l2: number): void {
  for (let i = 0; i < w.length; i++) {
    const gi = g[i]! + l2 * w[i]!;
    m[i] = 0.9 * m[i]! + 0.1 * gi;
    v[i] = 0.999 * v[i]! + 0.001 * gi * gi;
    w[i]! -= (a * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + 1e-8);
  }
}

function scores(xs: Float32Array, W: Float32Array, b: Float32Array, K: number, out: Float64Array): void {
  for (let k = 0; k < K; k++) out[k] = b[k]!;
  for (let j = 0; j < xs.length; j++) {
    const v = xs[j]!;
    for (let k = 0; k < K; k++) out[k]! += v * W[j * K + k]!;
  }
}

function softmaxInPlace(p: Float64Array): void {
  let mx = -Infinity;
  for (const v of p) mx = Math.max(mx, v);
  let s = 0;
  for (let k = 0; k < p.length; k++) { p[k] = Math.exp(p[k]! - mx); s += p[k]!; }
  for (let k = 0; k < p.length; k++) p[k]! /= s;
}

/** Log-probabilities of one feature row (matches the ONNX probe). */
export function probeLogProbs(m: ImageProbe, features: Float32Array): Float32Array {
  const xs = new Float32Array(m.dim);
  for (let j = 0; j < m.dim; j++) xs[j] = (features[j]! - m.mean[j]!) / m.std[j]!;
  const z = new Float64Array(m.classes);
  scores(xs, m.weights, m.bias, m.classes, z);
  return logSoftmax(z);
}
