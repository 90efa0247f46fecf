// The offline image encoder (Coates & Ng 2011 single-layer features, two branches): learn centroids of
// contrast-normalised, ZCA-whitened P x P patches by spherical k-means, then encode a photo by convolving
// with the folded filters, soft-thresholding both polarities and average-pooling over a grid. The colour
// branch reads RGB patches of the photo average-pooled to a thumbnail; the gradient branch reads patches
// of oriented-gradient cells (a HOG-like map: 8 half-rectified directional derivatives of the grey image,
// averaged over cell x cell pixels), which sees shape where the colour branch sees colour. A 4x4x4 colour
// histogram is appended. Everything after fitting is a plain ONNX graph (Conv/Relu/AveragePool/OneHot).
import { GraphBuilder } from '../onnx-writer/graph-builder.js';
import type { ImageProbe } from './image-probe.js';
import { sphericalKmeans } from './kmeans.js';
import { symmetricEigen } from './linalg.js';
import { Rng } from './random.js';

export interface GradientFeatureParams {
  /** Directions of the half-rectified derivatives (evenly spaced over 360 degrees). */
  orientations: number;
  /** Side in pixels of the square cells the directional responses are averaged over. */
  cell: number;
  /** Patch side, in cells. */
  patch: number;
  centroids: number;
  /** Variance floor of the patch contrast normalisation. */
  epsNorm: number;
}

export interface ImageFeatureParams {
  /** Input side length (the letterboxed photo resized to size x size). */
  size: number;
  /** The colour branch reads the input average-pooled by this factor (absent: 1, the input itself). */
  colourScale?: number;
  patch: number;
  centroids: number;
  /** Pooling grid per side (both branches). */
  grid: number;
  /** Soft threshold on whitened responses (both branches). */
  alpha: number;
  /** Variance floor of the colour patch contrast normalisation (on [0,1] pixels). */
  epsNorm: number;
  /** Eigenvalue floor of the ZCA whitening (both branches). */
  epsZca: number;
  /** The oriented-gradient branch (absent: colour branch and histogram only, as in models fitted before it). */
  gradient?: GradientFeatureParams;
}

/**
 * 96-pixel input; colour branch on its 32-pixel average (3 x 3 pooling), gradient branch on 4-pixel cells.
 * Chosen with `npm run bench:image` (per-photo accuracy of the image encoder's probe on held-out listings).
 */
export const DEFAULT_IMAGE_FEATURES: ImageFeatureParams = {
  size: 96, colourScale: 3, patch: 6, centroids: 128, grid: 2, alpha: 0.5, epsNorm: 0.01, epsZca: 0.1,
  gradient: { orientations: 8, cell: 4, patch: 3, centroids: 256, epsNorm: 0.001 },
};

/** The features of models fitted before the gradient branch: colour patches on a 32-pixel input. */
export const COLOUR_ONLY_IMAGE_FEATURES: ImageFeatureParams = {
  size: 32, patch: 6, centroids: 128, grid: 2, alpha: 0.5, epsNorm: 0.01, epsZca: 0.1,
};

export interface ImageFitOptions {
  patches: number;
  iterations: number;
  seed: number;
}

export const DEFAULT_IMAGE_FIT: ImageFitOptions = { patches: 30_000, iterations: 8, seed: 7 };

/** Filters of one branch acting on raw C x P x P patches of its input map (whitening folded in). */
export interface PatchFilters {
  /** K x (C*P*P), CHW patch order. */
  filters: Float32Array;
  /** Per-filter sum of weights (for the patch-mean term) and offset (the whitening mean term). */
  filterSums: Float32Array;
  offsets: Float32Array;
}

export interface ImageModel extends PatchFilters {
  params: ImageFeatureParams;
  /** The gradient branch's filters, when params.gradient is set. */
  gradient?: PatchFilters;
  /** Optional supervised probe whose class log-probabilities are appended to the features. */
  probe?: ImageProbe;
}

/** Width of the encoder's output: features, plus the probe's class log-probabilities when present. */
export const modelEmbeddingDim = (m: ImageModel): number => imageEmbeddingDim(m.params) + (m.probe?.classes ?? 0);

/** Side of the colour branch's input map. */
export function colourSide(p: ImageFeatureParams): number {
  const scale = p.colourScale ?? 1;
  if (!Number.isInteger(p.size / scale)) throw new Error(`Image features size ${p.size} is not a multiple of colourScale ${scale}; pick sizes that divide.`);
  return p.size / scale;
}

/** Side of the gradient branch's cell map: valid 3 x 3 derivatives, then whole cells only. */
export const gradientSide = (p: ImageFeatureParams, g: GradientFeatureParams): number => Math.floor((p.size - 2) / g.cell);

/** AveragePool window and stride that cut a (side - patch + 1)^2 response map into grid x grid cells. */
export function poolGeometry(side: number, patch: number, grid: number): { kernel: number; stride: number } {
  const H = side - patch + 1;
  const kernel = Math.ceil(H / grid);
  const stride = grid > 1 ? Math.floor((H - kernel) / (grid - 1)) : 1;
  if (H < 1 || stride < 1 || Math.floor((H - kernel) / stride) + 1 !== grid) {
    throw new Error(`An image feature map of side ${side}, patch ${patch} and grid ${grid} does not tile evenly; pick another grid or size.`);
  }
  return { kernel, stride };
}

export const imageEmbeddingDim = (p: ImageFeatureParams): number =>
  2 * p.centroids * p.grid * p.grid + (p.gradient ? 2 * p.gradient.centroids * p.grid * p.grid : 0) + 64;

const LUMA = [0.299, 0.587, 0.114];

/** The colour branch's input: CHW [0,1] at size, average-pooled by colourScale (matches AveragePool). */
export function colourMap(chw: Float32Array, p: ImageFeatureParams): Float32Array {
  const f = p.colourScale ?? 1;
  if (f === 1) return chw;
  const S = p.size, s = colourSide(p);
  const out = new Float32Array(3 * s * s);
  for (let c = 0; c < 3; c++) for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) {
    let acc = 0;
    for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) acc += chw[(c * S + y * f + dy) * S + x * f + dx]!;
    out[(c * s + y) * s + x] = acc / (f * f);
  }
  return out;
}

/** Direction o's 3 x 3 filter on the grey image: cos(t) d/dx + sin(t) d/dy, central differences. */
function orientationFilters(O: number): Float32Array {
  const w = new Float32Array(O * 9);
  for (let o = 0; o < O; o++) {
    const t = (2 * Math.PI * o) / O;
    w[o * 9 + 3] = -Math.cos(t); w[o * 9 + 5] = Math.cos(t);
    w[o * 9 + 1] = -Math.sin(t); w[o * 9 + 7] = Math.sin(t);
  }
  return w;
}

/** The gradient branch's input: O x side x side oriented-gradient cells of a CHW [0,1] image (matches the graph). */
export function gradientCells(chw: Float32Array, p: ImageFeatureParams, g: GradientFeatureParams): Float32Array {
  const S = p.size, n = S * S, O = g.orientations, side = gradientSide(p, g);
  const grey = new Float32Array(n);
  for (let i = 0; i < n; i++) grey[i] = LUMA[0]! * chw[i]! + LUMA[1]! * chw[n + i]! + LUMA[2]! * chw[2 * n + i]!;
  const w = orientationFilters(O);
  const out = new Float32Array(O * side * side);
  const lim = side * g.cell;
  for (let y = 0; y < lim; y++) for (let x = 0; x < lim; x++) {
    const dx = grey[(y + 1) * S + x + 2]! - grey[(y + 1) * S + x]!;
    const dy = grey[(y + 2) * S + x + 1]! - grey[y * S + x + 1]!;
    const cell = Math.floor(y / g.cell) * side + Math.floor(x / g.cell);
    for (let o = 0; o < O; o++) {
      const r = w[o * 9 + 5]! * dx + w[o * 9 + 7]! * dy;
      if (r > 0) out[o * side * side + cell]! += r / (g.cell * g.cell);
    }
  }
  return out;
}

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

/** Photos patches are sampled from: enough for 30,000 patches, few enough to map each once in memory. */
const FIT_PHOTOS = 4000;

/**
 * Fits both branches' filters from photos given as HWC RGB at params.size (uint8, or float in [0,1], as
 * the encoder takes them); only training photos should be passed.
 */
export async function fitImageModel(images: readonly (Uint8Array | Float32Array)[], p: ImageFeatureParams, o: ImageFitOptions): Promise<ImageModel> {
  if (images.length === 0) throw new Error('The offline image encoder needs at least one training photo; load photos before fitting.');
  const rng = new Rng(o.seed);
  const sample = Array.from({ length: Math.min(images.length, FIT_PHOTOS) }, () => toChw(images[rng.int(images.length)]!, p.size));
  const s = colourSide(p);
  const colour = await fitPatchFilters(sample.map((im) => colourMap(im, p)), { channels: 3, side: s, patch: p.patch, centroids: p.centroids, epsNorm: p.epsNorm, epsZca: p.epsZca }, o, rng);
  const g = p.gradient;
  const gradient = g
    ? await fitPatchFilters(sample.map((im) => gradientCells(im, p, g)), { channels: g.orientations, side: gradientSide(p, g), patch: g.patch, centroids: g.centroids, epsNorm: g.epsNorm, epsZca: p.epsZca }, o, rng)
    : undefined;
  return { params: p, ...colour, ...(gradient ? { gradient } : {}) };
}

interface BranchShape { channels: number; side: number; patch: number; centroids: number; epsNorm: number; epsZca: number }

/** Contrast normalisation, ZCA and spherical k-means on random patches of C x side x side maps. */
async function fitPatchFilters(maps: Float32Array[], b: BranchShape, o: ImageFitOptions, rng: Rng): Promise<PatchFilters> {
  const { channels: C, side: S, patch: P, centroids: K } = b;
  const D = C * P * P;
  const M = o.patches;
  const pt = new Float64Array(M * D);
  for (let m = 0; m < M; m++) {
    const img = maps[rng.int(maps.length)]!;
    const y0 = rng.int(S - P + 1);
    const x0 = rng.int(S - P + 1);
    let mu = 0;
    for (let c = 0; c < C; c++) for (let dy = 0; dy < P; dy++) for (let dx = 0; dx < P; dx++) {
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
    const sd = Math.sqrt(v2 / D + b.epsNorm);
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
    for (let k = 0; k < D; k++) s += (V[i * D + k]! * V[j * D + k]!) / Math.sqrt(Math.max(values[k]!, 0) + b.epsZca);
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
  const cen = await sphericalKmeans(wp, M, D, K, o.iterations, rng);
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
  return { filters, filterSums, offsets };
}

/**
 * One branch of the graph: patch contrast normalisation, the folded filters, both polarities soft-
 * thresholded, average-pooled to grid x grid, flattened (channel, row, column).
 */
function patchBranch(g: GraphBuilder, input: string, f: PatchFilters, b: BranchShape & { alpha: number; grid: number }): string {
  const { channels: C, patch: P, centroids: K } = b;
  const D = C * P * P;
  const box = g.init('box', [1, C, P, P], new Float32Array(D).fill(1 / D));
  const mu = g.op('Conv', [input, box]);
  const sq = g.op('Conv', [g.op('Mul', [input, input]), box]);
  const variance = g.op('Relu', [g.op('Sub', [sq, g.op('Mul', [mu, mu])])]);
  const sigma = g.op('Sqrt', [g.op('Add', [variance, g.init('eps', [1], new Float32Array([b.epsNorm]))])]);
  const resp = g.op('Conv', [input, g.init('filters', [K, C, P, P], f.filters)]);
  const centred = g.op('Sub', [resp, g.op('Mul', [mu, g.init('fsum', [1, K, 1, 1], f.filterSums)])]);
  const z = g.op('Sub', [g.op('Div', [centred, sigma]), g.init('offset', [1, K, 1, 1], f.offsets)]);
  const a = g.init('alpha', [1], new Float32Array([b.alpha]));
  const pos = g.op('Relu', [g.op('Sub', [z, a])]);
  const neg = g.op('Relu', [g.op('Sub', [g.op('Neg', [z]), a])]);
  const { kernel: k, stride } = poolGeometry(b.side, P, b.grid);
  const pooled = g.op('AveragePool', [g.op('Concat', [pos, neg], { axis: 1 })], { kernel_shape: [k, k], strides: [stride, stride] });
  return g.op('Flatten', [pooled], { axis: 1 });
}

/** ONNX graph: input image [batch, 3, size, size] float32 in [0,1]; output embedding [batch, modelEmbeddingDim]. */
export function imageModelOnnx(m: ImageModel): Uint8Array {
  const p = m.params;
  const S = p.size;
  const g = new GraphBuilder('offline_image_encoder');
  g.input('image', 'float32', ['batch', 3, S, S]);
  const f = p.colourScale ?? 1;
  const colourIn = f === 1 ? 'image' : g.op('AveragePool', ['image'], { kernel_shape: [f, f], strides: [f, f] });
  const branches = [patchBranch(g, colourIn, m, {
    channels: 3, side: colourSide(p), patch: p.patch, centroids: p.centroids, epsNorm: p.epsNorm, epsZca: p.epsZca, alpha: p.alpha, grid: p.grid,
  })];
  const gp = p.gradient;
  if (gp) {
    if (!m.gradient) throw new Error('The image model has gradient parameters but no gradient filters; refit it.');
    const grey = g.op('Conv', ['image', g.init('luma', [1, 3, 1, 1], new Float32Array(LUMA))]);
    const directional = g.op('Relu', [g.op('Conv', [grey, g.init('orient', [gp.orientations, 1, 3, 3], orientationFilters(gp.orientations))])]);
    const cells = g.op('AveragePool', [directional], { kernel_shape: [gp.cell, gp.cell], strides: [gp.cell, gp.cell] });
    branches.push(patchBranch(g, cells, m.gradient, {
      channels: gp.orientations, side: gradientSide(p, gp), patch: gp.patch, centroids: gp.centroids, epsNorm: gp.epsNorm, epsZca: p.epsZca, alpha: p.alpha, grid: p.grid,
    }));
  }
  // Colour histogram of the input: 4 levels per channel -> bin = 16r + 4g + b, one-hot, mean over pixels, sqrt.
  const q = g.op('Floor', [g.op('Mul', ['image', g.init('levels', [1], new Float32Array([3.999]))])]);
  const bin = g.op('Conv', [q, g.init('binw', [1, 3, 1, 1], new Float32Array([16, 4, 1]))]);
  const bins = g.op('Cast', [g.op('Flatten', [bin], { axis: 1 })], { to: 7 });
  const onehot = g.op('OneHot', [bins, g.init('depth', [1], [64]), g.init('onoff', [2], new Float32Array([0, 1]))], { axis: -1 });
  const hist = g.op('Sqrt', [g.op('ReduceMean', [onehot], { axes: [1], keepdims: 0 })]);
  const F = imageEmbeddingDim(p);
  if (!m.probe) {
    g.op('Concat', [...branches, hist], { axis: 1 }, 'embedding');
  } else {
    const pr = m.probe;
    const all = g.op('Concat', [...branches, hist], { axis: 1 });
    const xs = g.op('Div', [g.op('Sub', [all, g.init('pmean', [F], pr.mean)]), g.init('pstd', [F], pr.std)]);
    const lp = g.op('LogSoftmax', [g.op('Gemm', [xs, g.init('pw', [F, pr.classes], pr.weights), g.init('pb', [pr.classes], pr.bias)])], { axis: -1 });
    g.op('Concat', [all, lp], { axis: 1 }, 'embedding');
  }
  g.output('embedding', 'float32', ['batch', modelEmbeddingDim(m)]);
  return g.encode(p.gradient
    ? 'Offline image encoder: k-means patch features (Coates & Ng) on colour and oriented-gradient maps + colour histogram.'
    : 'Offline image encoder: k-means patch features (Coates & Ng) + colour histogram.');
}
