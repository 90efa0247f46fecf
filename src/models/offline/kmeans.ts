// Spherical k-means for the image encoder's patch dictionaries (Coates & Ng 2011): each patch goes to
// the centroid with the largest |dot product|, each centroid becomes the dot-weighted sum of its patches,
// renormalised. The assignment step (patches x centroids dot products) is one big matrix product, so it
// runs as an ONNX MatMul on onnxruntime's threaded GEMM; the loops in plain TypeScript took about 30 s of
// each `setup` at the default 30,000 patches x 256 centroids. Accumulation stays in TypeScript.
import { GraphBuilder } from '../onnx-writer/graph-builder.js';
import type { Rng } from './random.js';
import { bytesSession, runOutput, type Runner } from './session.js';

/** Rows of the dot-product matrix computed per MatMul run: bounds the [rows x K] output buffer. */
const CHUNK_ROWS = 16_384;

/** ONNX graph: dots [rows, K] = patches [rows, D] x centroids [K, D]^T. */
export function dotsGraph(): Uint8Array {
  const g = new GraphBuilder('kmeans_dots');
  g.input('patches', 'float32', ['rows', 'dim']);
  g.input('centroids', 'float32', ['centroids', 'dim']);
  g.op('MatMul', ['patches', g.op('Transpose', ['centroids'], { perm: [1, 0] })], {}, 'dots');
  g.output('dots', 'float32', ['rows', 'centroids']);
  return g.encode('Spherical k-means assignment: patch-centroid dot products.');
}

/** Index and dot product of the centroid with the largest |dot| for every row of x (flat M x D). */
export async function assignToCentroids(
  session: Runner, x: Float32Array, M: number, D: number, cen: Float32Array, K: number,
): Promise<{ best: Int32Array; dot: Float32Array }> {
  const best = new Int32Array(M);
  const dot = new Float32Array(M);
  for (let start = 0; start < M; start += CHUNK_ROWS) {
    const rows = Math.min(CHUNK_ROWS, M - start);
    const { data } = await runOutput(session, {
      patches: { type: 'float32', data: x.subarray(start * D, (start + rows) * D), dims: [rows, D] },
      centroids: { type: 'float32', data: cen, dims: [K, D] },
    }, 'dots');
    for (let r = 0; r < rows; r++) {
      let b = 0;
      let bAbs = -1;
      for (let k = 0; k < K; k++) {
        const a = Math.abs(data[r * K + k]!);
        if (a > bAbs) { bAbs = a; b = k; }
      }
      best[start + r] = b;
      dot[start + r] = data[r * K + b]!;
    }
  }
  return { best, dot };
}

/** K unit-norm centroids (flat K x D) of the M rows of x (flat M x D), seeded from random rows. */
export async function sphericalKmeans(x: Float32Array, M: number, D: number, K: number, iterations: number, rng: Rng): Promise<Float32Array> {
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
  const session = await bytesSession(dotsGraph());
  try {
    for (let it = 0; it < iterations; it++) {
      const { best, dot } = await assignToCentroids(session, x, M, D, cen, K);
      const acc = new Float32Array(K * D);
      for (let m = 0; m < M; m++) {
        const o = best[m]! * D;
        const w = dot[m]!;
        for (let j = 0; j < D; j++) acc[o + j]! += w * x[m * D + j]!;
      }
      // Empty clusters keep a trace of their old centroid instead of collapsing to zero.
      for (let i = 0; i < acc.length; i++) cen[i] = acc[i]! + 1e-6 * cen[i]!;
      normalise();
    }
  } finally {
    await session.close();
  }
  return cen;
}
