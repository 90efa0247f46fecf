import { describe, expect, it } from 'vitest';
import { OfflineImageEncoder } from './encoders.js';
import { fitImageModel, imageEmbeddingDim, imageModelOnnx, modelEmbeddingDim, toChw } from './image-model.js';
import { fitProbe } from './image-probe.js';
import { referenceImageFeatures } from './image-reference.js';
import { Rng } from './random.js';

// Random photos with some structure (a bright square on noise) so responses are not all below alpha.
function photo(r: Rng, S: number): Uint8Array {
  const x0 = r.int(S / 2), y0 = r.int(S / 2);
  return Uint8Array.from({ length: S * S * 3 }, (_, j) => {
    const p = Math.floor(j / 3), y = Math.floor(p / S), x = p % S;
    const inside = x >= x0 && x < x0 + S / 3 && y >= y0 && y < y0 + S / 3;
    return Math.min(255, (inside ? 180 + 30 * (j % 3) : 20) + r.int(60));
  });
}

describe('referenceImageFeatures', () => {
  const colourOnly = { size: 16, patch: 4, centroids: 12, alpha: 0.25, epsNorm: 0.01, epsZca: 0.1 };
  // Both branches: the colour one on the 2x2-pooled input, the gradient one on 2-pixel cells.
  const twoBranch = { ...colourOnly, size: 24, colourScale: 2, gradient: { orientations: 8, cell: 2, patch: 3, centroids: 10, epsNorm: 0.001 } };
  for (const [name, base, grid, withProbe] of [
    ['colour only', colourOnly, 2, false], ['colour only', colourOnly, 3, true], ['colour + gradient', twoBranch, 2, false], ['colour + gradient', twoBranch, 3, true],
  ] as const) {
    it(`matches the ONNX image encoder within 1e-4 (${name}, grid ${grid}${withProbe ? ', with probe' : ''})`, async () => {
      const r = new Rng(11 + grid);
      const params = { ...base, grid };
      const S = params.size;
      const train = Array.from({ length: 30 }, () => photo(r, S));
      const model = await fitImageModel(train, params, { patches: 2000, iterations: 4, seed: 3 });
      if (withProbe) {
        const F = imageEmbeddingDim(params);
        const x = new Float32Array(train.length * F);
        train.forEach((t, i) => x.set(referenceImageFeatures(model, toChw(t, S)), i * F));
        model.probe = await fitProbe(x, train.length, F, train.map((_, i) => i % 3), 3, { epochs: 3, lr: 1e-2, l2: 1e-3, batchSize: 8, seed: 1 });
      }
      const enc = await OfflineImageEncoder.fromBytes(imageModelOnnx(model), params, modelEmbeddingDim(model));
      const images = [photo(r, S), photo(r, S), Uint8Array.from({ length: S * S * 3 }, () => r.int(256))];
      const onnx = await enc.encode(images);
      await enc.close();
      images.forEach((img, i) => {
        const ref = referenceImageFeatures(model, toChw(img, S));
        expect(ref.length).toBe(onnx[i]!.length);
        let maxDiff = 0;
        ref.forEach((v, k) => { maxDiff = Math.max(maxDiff, Math.abs(v - onnx[i]![k]!)); });
        expect(maxDiff).toBeLessThan(1e-4);
        // Each branch responds somewhere (a branch of zeros would match trivially).
        const colourEnd = 2 * params.centroids * grid * grid;
        expect(ref.some((v, k) => k < colourEnd && v > 0)).toBe(true);
        if ('gradient' in params) {
          expect(ref.some((v, k) => k >= colourEnd && k < colourEnd + 2 * params.gradient.centroids * grid * grid && v > 0)).toBe(true);
        }
      });
    });
  }
});
