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
  for (const [grid, withProbe] of [[2, false], [3, true]] as const) {
    it(`matches the ONNX image encoder within 1e-4 (grid ${grid}${withProbe ? ', with probe' : ''})`, async () => {
      const r = new Rng(11 + grid);
      const params = { size: 16, patch: 4, centroids: 12, grid, alpha: 0.25, epsNorm: 0.01, epsZca: 0.1 };
      const train = Array.from({ length: 30 }, () => toChw(photo(r, 16), 16));
      const model = fitImageModel(train, params, { patches: 2000, iterations: 4, seed: 3 });
      if (withProbe) {
        const F = imageEmbeddingDim(params);
        const x = new Float32Array(train.length * F);
        train.forEach((t, i) => x.set(referenceImageFeatures(model, t), i * F));
        model.probe = fitProbe(x, train.length, F, train.map((_, i) => i % 3), 3, { epochs: 3, lr: 1e-2, l2: 1e-3, batchSize: 8, seed: 1 });
      }
      const enc = await OfflineImageEncoder.fromBytes(imageModelOnnx(model), params, modelEmbeddingDim(model));
      const images = [photo(r, 16), photo(r, 16), Uint8Array.from({ length: 16 * 16 * 3 }, () => r.int(256))];
      const onnx = await enc.encode(images);
      await enc.close();
      images.forEach((img, i) => {
        const ref = referenceImageFeatures(model, toChw(img, 16));
        expect(ref.length).toBe(onnx[i]!.length);
        let maxDiff = 0;
        ref.forEach((v, k) => { maxDiff = Math.max(maxDiff, Math.abs(v - onnx[i]![k]!)); });
        expect(maxDiff).toBeLessThan(1e-4);
        expect(ref.some((v, k) => k < 2 * params.centroids * grid * grid && v > 0)).toBe(true);
      });
    });
  }
});
