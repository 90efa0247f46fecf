// A supervised linear probe on the unsupervised image features: standardise, softmax regression
// (mini-batch Adam, L2, cosine decay), log-probabilities. The image encoder appends these 13 numbers to
// its features, which gives the classifier's image branch a compact, already-calibrated class signal.
// Being supervised, its outputs on its own training photos are over-confident, so fitOfflineEncoders
// also returns out-of-fold embeddings for the training photos (like the text encoder's).
//
// Each mini-batch's gradient (3,136 features x 13 classes, forward and backward) runs as one small ONNX
// graph on onnxruntime's GEMM, as k-means does: in scalar TypeScript the 11 probe fits of a `setup` on
// the sample took about 175 s (CPU profile), a third of the whole fit. Adam stays in TypeScript.
import { GraphBuilder } from '../onnx-writer/graph-builder.js';
import { Rng } from './random.js';
import { logSoftmax } from './linalg.js';
import { bytesSession, type Runner } from './session.js';
import { Tensor } from '../runtime/session.js';

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

/**
 * ONNX graph of one mini-batch's gradient of the mean cross-entropy: standardise the rows, logits =
 * xs W + b, softmax, d = (p - target) / rows; outputs gradW = xs^T d [dim, classes] and gradB = sum of d.
 */
export function probeGradientGraph(): Uint8Array {
  const g = new GraphBuilder('probe_gradient');
  g.input('x', 'float32', ['rows', 'dim']);
  g.input('mean', 'float32', ['dim']);
  g.input('invStd', 'float32', ['dim']);
  g.input('weights', 'float32', ['dim', 'classes']);
  g.input('bias', 'float32', ['classes']);
  g.input('target', 'float32', ['rows', 'classes']);
  g.input('scale', 'float32', [1]);
  const xs = g.op('Mul', [g.op('Sub', ['x', 'mean']), 'invStd']);
  const p = g.op('Softmax', [g.op('Add', [g.op('MatMul', [xs, 'weights']), 'bias'])], { axis: -1 });
  const d = g.op('Mul', [g.op('Sub', [p, 'target']), 'scale']);
  g.op('MatMul', [g.op('Transpose', [xs], { perm: [1, 0] }), d], {}, 'gradW');
  g.op('ReduceSum', [d, g.init('axis0', [1], [0])], { keepdims: 0 }, 'gradB');
  g.output('gradW', 'float32', ['dim', 'classes']);
  g.output('gradB', 'float32', ['classes']);
  return g.encode('Image probe: one mini-batch gradient of softmax regression.');
}

/** Gradient of the mean cross-entropy over the given rows of x (flat n x dim) at (W, b), through the graph. */
export async function probeGradient(
  session: Runner, rows: Float32Array, count: number, p: { mean: Float32Array; invStd: Float32Array; W: Float32Array; b: Float32Array },
  labels: ArrayLike<number>, classes: number,
): Promise<{ gW: Float32Array; gb: Float32Array }> {
  const dim = p.mean.length;
  const target = new Float32Array(count * classes);
  for (let i = 0; i < count; i++) target[i * classes + labels[i]!] = 1;
  const out = await session.run({
    x: new Tensor('float32', rows, [count, dim]),
    mean: new Tensor('float32', p.mean, [dim]),
    invStd: new Tensor('float32', p.invStd, [dim]),
    weights: new Tensor('float32', p.W, [dim, classes]),
    bias: new Tensor('float32', p.b, [classes]),
    target: new Tensor('float32', target, [count, classes]),
    scale: new Tensor('float32', new Float32Array([1 / count]), [1]),
  });
  return { gW: out['gradW']!.data as Float32Array, gb: out['gradB']!.data as Float32Array };
}

/** Fits on feature rows (flat n x dim) with labels. */
export async function fitProbe(x: Float32Array, n: number, dim: number, labels: number[], classes: number, o: ProbeFitOptions): Promise<ImageProbe> {
  if (n === 0) throw new Error('The image probe needs labelled training photos; give photos of labelled listings.');
  const mean = new Float32Array(dim), std = new Float32Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += x[i * dim + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) std[j]! += (x[i * dim + j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < dim; j++) std[j] = Math.sqrt(std[j]!) + 1e-3;
  const invStd = std.map((s) => 1 / s);
  const K = classes;
  const W = new Float32Array(dim * K), b = new Float32Array(K);
  const mW = new Float32Array(dim * K), vW = new Float32Array(dim * K);
  const mb = new Float32Array(K), vb = new Float32Array(K);
  const batch = new Float32Array(o.batchSize * dim);
  const batchLabels = new Int32Array(o.batchSize);
  const rng = new Rng(o.seed);
  const order = Array.from({ length: n }, (_, i) => i);
  const session = await bytesSession(probeGradientGraph());
  let t = 0;
  try {
    for (let ep = 0; ep < o.epochs; ep++) {
      rng.shuffle(order);
      const a = o.lr * 0.5 * (1 + Math.cos((Math.PI * ep) / o.epochs));
      for (let s = 0; s < n; s += o.batchSize) {
        const bs = Math.min(o.batchSize, n - s);
        for (let q = 0; q < bs; q++) {
          const i = order[s + q]!;
          batch.set(x.subarray(i * dim, (i + 1) * dim), q * dim);
          batchLabels[q] = labels[i]!;
        }
        const { gW, gb } = await probeGradient(session, batch.subarray(0, bs * dim), bs, { mean, invStd, W, b }, batchLabels, K);
        t++;
        const c1 = 1 - 0.9 ** t, c2 = 1 - 0.999 ** t;
        adam(W, gW, mW, vW, a, c1, c2, o.l2);
        adam(b, gb, mb, vb, a, c1, c2, 0);
      }
    }
  } finally {
    await session.close();
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

/** Log-probabilities of one feature row (matches the ONNX probe). */
export function probeLogProbs(m: ImageProbe, features: Float32Array): Float32Array {
  const xs = new Float32Array(m.dim);
  for (let j = 0; j < m.dim; j++) xs[j] = (features[j]! - m.mean[j]!) / m.std[j]!;
  const z = new Float64Array(m.classes);
  scores(xs, m.weights, m.bias, m.classes, z);
  return logSoftmax(z);
}
