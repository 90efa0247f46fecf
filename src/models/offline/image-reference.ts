// A plain TypeScript reference of the offline image encoder's ONNX graph (imageModelOnnx). It is not
// used to serve (the ONNX graph is): it pins down exactly what the graph computes, so a test can check
// that the exported graph and the fitted model agree, and so the maths can be re-implemented elsewhere.
import { imageEmbeddingDim, poolGeometry, type ImageModel } from './image-model.js';
import { probeLogProbs } from './image-probe.js';

/** Embedding of one CHW [0,1] image (toChw output) in the ONNX output order: features, then probe log-probs. */
export function referenceImageFeatures(m: ImageModel, chw: Float32Array): Float32Array {
  const { size: S, patch: P, centroids: K, grid, alpha, epsNorm } = m.params;
  const D = 3 * P * P;
  const H = S - P + 1;
  const n = S * S;
  // Per-position patch statistics and raw filter responses (valid convolution, stride 1).
  const z = new Float64Array(K * H * H);
  const patch = new Float64Array(D);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < H; x++) {
      let s = 0, s2 = 0;
      for (let c = 0; c < 3; c++) for (let dy = 0; dy < P; dy++) for (let dx = 0; dx < P; dx++) {
        const v = chw[c * n + (y + dy) * S + x + dx]!;
        patch[c * P * P + dy * P + dx] = v;
        s += v;
        s2 += v * v;
      }
      const mu = s / D;
      const sigma = Math.sqrt(Math.max(s2 / D - mu * mu, 0) + epsNorm);
      for (let k = 0; k < K; k++) {
        let r = 0;
        for (let j = 0; j < D; j++) r += m.filters[k * D + j]! * patch[j]!;
        z[(k * H + y) * H + x] = (r - mu * m.filterSums[k]!) / sigma - m.offsets[k]!;
      }
    }
  }
  const { kernel, stride } = poolGeometry(m.params);
  const out = new Float32Array(imageEmbeddingDim(m.params));
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
  // Colour histogram: 4 levels per channel, bin 16r + 4g + b, share of pixels, square root.
  const hist = new Float64Array(64);
  for (let i = 0; i < n; i++) {
    const q = (c: number): number => Math.floor(chw[c * n + i]! * 3.999);
    hist[16 * q(0) + 4 * q(1) + q(2)]! += 1 / n;
  }
  const base = 2 * K * grid * grid;
  for (let b = 0; b < 64; b++) out[base + b] = Math.sqrt(hist[b]!);
  if (!m.probe) return out;
  const all = new Float32Array(out.length + m.probe.classes);
  all.set(out);
  all.set(probeLogProbs(m.probe, out), out.length);
  return all;
}
