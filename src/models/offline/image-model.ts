// The offline image encoder (Coates & Ng 2011 single-layer features): learn K centroids of contrast-
// normalised, ZCA-whitened P x P colour patches by spherical k-means, then encode a photo by convolving
// with the folded filters, soft-thresholding both polarities, average-pooling over a grid, plus a 4x4x4
// colour histogram. Everything after fitting is a plain ONNX graph (Conv/Relu/AveragePool/OneHot).
import { GraphBuilder } from '../onnx-writer/graph-builder.js';
import type { ImageProbe } from './image-probe.js';
import { symmetricEigen } from './linalg.js';
import { Rng } from './random.js';

export interface ImageFeatureParams {
  /** Input side length (the letterboxed photo resized to size x size). */
  size: number;
  patch: number;
  centroids: number;
  /** Pooling grid per side. */
  grid: number;
  /** Soft threshold on whitened responses. */
  alpha: number;
  /** Variance floor of the patch contrast normalisation (on [0,1] pixels). */
  epsNorm: number;
  /** Eigenvalue floor of the ZCA whitening. */
  epsZca: number;
}

export const DEFAULT_IMAGE_FEATURES: ImageFeatureParams = {
  size: 32, patch: 6, centroids: 128, grid: 2, alpha: 0.5, epsNorm: 0.01, epsZca: 0.1,
};

export interface ImageFitOptions {
  patches: number;
  iterations: number;
  seed: number;
}

export const DEFAULT_IMAGE_FIT: ImageFitOptions = { patches: 30_000, iterations: 8, seed: 7 };

export interface ImageModel {
  params: ImageFeatureParams;
  /** K x (3*P*P) filters acting on raw patches (whitening folded in), CHW patch order. */
  filters: Float32Array;
  /** Per-filter sum of weights (for the patch-mean term) and offset (the whitening mean term). */
  filterSums: Float32Array;
  offsets: Float32Array;
  /** Optional supervised probe whose class log-probabilities are appended to the features. */
  probe?: ImageProbe;
}

/** Width of the encoder's output: features, plus the probe's class log-probabilities when present. */
export const modelEmbeddingDim = (m: ImageModel): number => imageEmbeddingDim(m.params) + (m.probe?.classes ?? 0);

/** AveragePool window and stride that cut the (size - patch + 1)^2 response map into grid x grid cells. */
export function poolGeometry(p: ImageFeatureParams): { kernel: number; stride: number } {
  const H = p.size - p.patch + 1;
  const kernel = Math.ceil(H / p.grid);
  const stride = p.grid > 1 ? Math.floor((H - kernel) / (p.grid - 1)) : 1;
  if (stride < 1 || Math.floor((H - kernel) / stride) + 1 !== p.grid) {
    throw new Error(`Image features size ${p.size}, patch ${p.patch} and grid ${p.grid} do not tile evenly; pick another grid.`);
  }
  return { kernel, stride };
}

export const imageEmbeddingDim = (p: ImageFeatureParams): number => 2 * p.centroids * p.grid * p.grid + 64;

/** HWC RGB (uint8 0..255, or float 0..1) at size x size -> CHW float32 in [0, 1], the ONNX input layout. */
export function toChw(rgb: Uint8Array | Float32Array, size: number): Float32Array {
  const n = size * size;
  if (rgb.length !== n * 3) {
    throw new Error(`The image has ${rgb.length} values but the offline image encoder needs ${size}x${size}x3 RGB; resize it to ${size}x${size} first.`);
  }
  const scale = rgb instanceof Uint8Array ? 1 / 255 : 1;
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[c * n + i] = rgb[i * 3 + c]! * scale;
  return out;
}

/** Fits the filters from CHW [0,1] images (only training photos should be passed). */
export function fitImageModel(images: Float32Array[], p: ImageFeatureParams, o: ImageFitOptions): ImageModel {
  if (images.length === 0) throw new Error('The offline image encoder needs at least one training photo; load photos before fitting.');
  const { size: S, patch: P, centroids: K } = p;
  const D = 3 * P * P;
  const M = o.patches;
  const rng = new Rng(o.seed);
  const pt = new Float64Array(M * D);
  for (let m = 0; m < M; m++) {
    const img = images[rng.int(images.length)]!;
    const y0 = rng.int(S - P + 1);
    const x0 = rng.int(S - P + 1);
    let mu = 0;
    for (let c = 0; c < 3; c++) for (let dy = 0; dy < P; dy++) for (let dx = 0; dx < P; dx++) {
      const v = img[(c * S + y0 + dy) * S + x0 + dx]!;
      pt[m * D + c * P * P + dy * P + dx] = v;
      mu += v;
    }
    mu /= D;
    let v2 = 0;
    for (let j = 0; j < D; j++) {
      const v = pt[m * D + j]! - mu;
      pt[m * D + j] = v;
      v2 += v * v;
    }
    const sd = Math.sqrt(v2 / D + p.epsNorm);
    for (let j = 0; j < D; j++) pt[m * D + j]! /= sd;
  }
  const mean = new Float64Array(D);
  for (let m = 0; m < M; m++) for (let j = 0; j < D; j++) mean[j]! += pt[m * D + j]! / M;
  const cov = new Float64Array(D * D);
  const row = new Float64Array(D);
  for (let m = 0; m < M; m++) {
    for (let j = 0; j < D; j++) row[j] = pt[m * D + j]! - mean[j]!;
    for (let i = 0; i < D; i++) for (let j = i; j < D; j++) cov[i * D + j]! += row[i]! * row[j]!;
  }
  for (let i = 0; i < D; i++) for (let j = i; j < D; j++) {
    cov[i * D + j]! /= M;
    cov[j * D + i] = cov[i * D + j]!;
  }
  const { values, vectors: V } = symmetricEigen(cov, D);
  const zca = new Float64Array(D * D);
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) {
    let s = 0;
    for (let k = 0; k < D; k++) s += (V[i * D + k]! * V[j * D + k]!) / Math.sqrt(Math.max(values[k]!, 0) + p.epsZca);
    zca[i * D + j] = s;
  }
  const wp = new Float32Array(M * D);
  for (let m = 0; m < M; m++) {
    for (let j = 0; j < D; j++) row[j] = pt[m * D + j]! - mean[j]!;
    for (let i = 0; i < D; i++) {
      let s = 0;
      for (let j = 0; j < D; j++) s += zca[i * D + j]! * row[j]!;
      wp[m * D + i] = s;
    }
  }
  const cen = sphericalKmeans(wp, M, D, K, o.iterations, rng);
  // Fold whitening into the filters: c . Z (x - mean) = (cZ) . x - (cZ) . mean.
  const filters = new Float32Array(K * D);
  const filterSums = new Float32Array(K);
  const offsets = new Float32Array(K);
  for (let k = 0; k < K; k++) for (let j = 0; j < D; j++) {
    let s = 0;
    for (let i = 0; i < D; i++) s += cen[k * D + i]! * zca[i * D + j]!;
    filters[k * D + j] = s;
    filterSums[k]! += s;
    offsets[k]! += s * mean[j]!;
  }
  return { params: p, filters, filterSums, offsets };
}

function sphericalKmeans(x: Float32Array, M: number, D: number, K: number, iterations: number, rng: Rng): Float32Array {
  const cen = new Float32Array(K * D);
  for (let k = 0; k < K; k++) {
    const m = rng.int(M);
    for (let j = 0; j < D; j++) cen[k * D + j] = x[m * D + j]! + 1e-3 * rng.normal();
  }
  const normalise = (): void => {
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let j = 0; j < D; j++) s += cen[k * D + j]! ** 2;
      s = Math.sqrt(s) || 1;
      for (let j = 0; j < D; j++) cen[k * D + j]! /= s;
    }
  };
  normalise();
  for (let it = 0; it < iterations; it++) {
    const acc = new Float32Array(K * D);
    for (let m = 0; m < M; m++) {
      let best = 0;
      let bestDot = 0;
      let bestAbs = -1;
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let j = 0; j < D; j++) s += cen[k * D + j]! * x[m * D + j]!;
        if (Math.abs(s) > bestAbs) {
          bestAbs = Math.abs(s);
          bestDot = s;
          best = k;
        }
      }
      for (let j = 0; j < D; j++) acc[best * D + j]! += bestDot * x[m * D + j]!;
    }
    // Empty clusters keep a trace of their old centroid instead of collapsing to zero.
    for (let i = 0; i < acc.length; i++) cen[i] = acc[i]! + 1e-6 * cen[i]!;
    normalise();
  }
  return cen;
}

/** ONNX graph: input image [batch, 3, size, size] float32 in [0,1]; output embedding [batch, imageEmbeddingDim]. */
export function imageModelOnnx(m: ImageModel): Uint8Array {
  const { size: S, patch: P, centroids: K, alpha, epsNorm } = m.params;
  const D = 3 * P * P;
  const g = new GraphBuilder('offline_image_encoder');
  g.input('image', 'float32', ['batch', 3, S, S]);
  const box = g.init('box', [1, 3, P, P], new Float32Array(D).fill(1 / D));
  const mu = g.op('Conv', ['image', box]);
  const sq = g.op('Conv', [g.op('Mul', ['image', 'image']), box]);
  const variance = g.op('Relu', [g.op('Sub', [sq, g.op('Mul', [mu, mu])])]);
  const sigma = g.op('Sqrt', [g.op('Add', [variance, g.init('eps', [1], new Float32Array([epsNorm]))])]);
  const resp = g.op('Conv', ['image', g.init('filters', [K, 3, P, P], m.filters)]);
  const centred = g.op('Sub', [resp, g.op('Mul', [mu, g.init('fsum', [1, K, 1, 1], m.filterSums)])]);
  const z = g.op('Sub', [g.op('Div', [centred, sigma]), g.init('offset', [1, K, 1, 1], m.offsets)]);
  const a = g.init('alpha', [1], new Float32Array([alpha]));
  const pos = g.op('Relu', [g.op('Sub', [z, a])]);
  const neg = g.op('Relu', [g.op('Sub', [g.op('Neg', [z]), a])]);
  const { kernel: k, stride } = poolGeometry(m.params);
  const pooled = g.op('AveragePool', [g.op('Concat', [pos, neg], { axis: 1 })], { kernel_shape: [k, k], strides: [stride, stride] });
  const feats = g.op('Flatten', [pooled], { axis: 1 });
  // Colour histogram: 4 levels per channel -> bin = 16r + 4g + b, one-hot, mean over pixels, sqrt.
  const q = g.op('Floor', [g.op('Mul', ['image', g.init('levels', [1], new Float32Array([3.999]))])]);
  const bin = g.op('Conv', [q, g.init('binw', [1, 3, 1, 1], new Float32Array([16, 4, 1]))]);
  const bins = g.op('Cast', [g.op('Flatten', [bin], { axis: 1 })], { to: 7 });
  const onehot = g.op('OneHot', [bins, g.init('depth', [1], [64]), g.init('onoff', [2], new Float32Array([0, 1]))], { axis: -1 });
  const hist = g.op('Sqrt', [g.op('ReduceMean', [onehot], { axes: [1], keepdims: 0 })]);
  const F = imageEmbeddingDim(m.params);
  if (!m.probe) {
    g.op('Concat', [feats, hist], { axis: 1 }, 'embedding');
  } else {
    const pr = m.probe;
    const all = g.op('Concat', [feats, hist], { axis: 1 });
    const xs = g.op('Div', [g.op('Sub', [all, g.init('pmean', [F], pr.mean)]), g.init('pstd', [F], pr.std)]);
    const lp = g.op('LogSoftmax', [g.op('Gemm', [xs, g.init('pw', [F, pr.classes], pr.weights), g.init('pb', [pr.classes], pr.bias)])], { axis: -1 });
    g.op('Concat', [all, lp], { axis: 1 }, 'embedding');
  }
  g.output('embedding', 'float32', ['batch', modelEmbeddingDim(m)]);
  return g.encode('Offline image encoder: k-means patch features (Coates & Ng) + colour histogram.');
}
