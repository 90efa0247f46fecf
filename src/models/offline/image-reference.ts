// A plain TypeScript reference of the offline image encoder's ONNX graph (imageModelOnnx). It is not
// used to serve (the ONNX graph is): it pins down exactly what the graph computes, so a test can check
// that the exported graph and the fitted model agree, and so the maths can be re-implemented elsewhere.
import {
  colourMap, colourSide, gradientCells, gradientSide, imageEmbeddingDim, poolGeometry, type ImageModel, type PatchFilters,
} from './image-model.js';
import { probeLogProbs } from './image-probe.js';

interface Branch { channels: number; side: number; patch: number; centroids: number; epsNorm: number; alpha: number; grid: number }

/** One branch on a C x side x side map: valid patch responses, both polarities, grid pooling, flattened. */
function branchFeatures(f: PatchFilters, map: Float32Array, b: Branch): Float32Array {
  const { channels: C, side: S, patch: P, centroids: K, grid, alpha, epsNorm } = b;
  const D = C * P * P;
  const H = S - P + 1;
  // Per-position patch statistics and raw filter responses (valid convolution, stride 1).
  const z = new Float64Array(K * H * H);
  const patch = new Float64Array(D);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < H; x++) {
      let s = 0, s2 = 0;
      for (let c = 0; c < C; c++) for (let dy = 0; dy < P; dy++) for (let dx = 0; dx < P; dx++) {
        const v = map[(c * S + y + dy) * S + x + dx]!;
        patch[c * P * P + dy * P + dx] = v;
        s += v;
        s2 += v * v;
      }
      const mu = s / D;
      const sigma = Math.sqrt(Math.max(s2 / D - mu * mu, 0) + epsNorm);
      for (let k = 0; k < K; k++) {
        let r = 0;
        for (let j = 0; j < D; j++) r += f.filters[k * D + j]! * patch[j]!;
        z[(k * H + y) * H + x] = (r - mu * f.filterSums[k]!) / sigma - f.offsets[k]!;
      }
    }
  }
  const { kernel, stride } = poolGeometry(S, P, grid);
  const out = new Float32Array(2 * K * grid * grid);
  // Concat(pos, neg) on channels, then AveragePool (no padding), then Flatten: channel, row, column.
  for (let half = 0; half < 2; half++) {
    for (let k = 0; k < K; k++) {
      for (let gy = 0; gy < grid; gy++) for (let gx = 0; gx < grid; gx++) {
        let acc = 0;
        for (let y = gy * stride; y < gy * stride + kernel; y++) for (let x = gx * stride; x < gx * stride + kernel; x++) {
          const v = z[(k * H + y) * H + x]!;
          acc += Math.max(0, half === 0 ? v - alpha : -v - alpha);
        }
        out[((half * K + k) * grid + gy) * grid + gx] = acc / (kernel * kernel);
      }
    }
  }
  return out;
}

/** Embedding of one CHW [0,1] image (toChw output) in the ONNX output order: branches, histogram, probe log-probs. */
export function referenceImageFeatures(m: ImageModel, chw: Float32Array): Float32Array {
  const p = m.params;
  const out = new Float32Array(imageEmbeddingDim(p));
  let o = 0;
  const colour = branchFeatures(m, colourMap(chw, p), {
    channels: 3, side: colourSide(p), patch: p.patch, centroids: p.centroids, epsNorm: p.epsNorm, alpha: p.alpha, grid: p.grid,
  });
  out.set(colour, o);
  o += colour.length;
  const g = p.gradient;
  if (g && m.gradient) {
    const grad = branchFeatures(m.gradient, gradientCells(chw, p, g), {
      channels: g.orientations, side: gradientSide(p, g), patch: g.patch, centroids: g.centroids, epsNorm: g.epsNorm, alpha: p.alpha, grid: p.grid,
    });
    out.set(grad, o);
    o += grad.length;
  }
  // Colour histogram of the input: 4 levels per channel, bin 16r + 4g + b, share of pixels, square root.
  const n = p.size * p.size;
  const hist = new Float64Array(64);
  for (let i = 0; i < n; i++) {
    const q = (c: number): number => Math.floor(chw[c * n + i]! * 3.999);
    hist[16 * q(0) + 4 * q(1) + q(2)]! += 1 / n;
  }
  for (let b = 0; b < 64; b++) out[o + b] = Math.sqrt(hist[b]!);
  if (!m.probe) return out;
  const all = new Float32Array(out.length + m.probe.classes);
  all.set(out);
  all.set(probeLogProbs(m.probe, out), out.length);
  return all;
}
