import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OfflineImageEncoder, OfflineTextEncoder } from './encoders.js';
import { fitOfflineEncoders } from './fit.js';
import { Rng } from './random.js';
import { sparseRow } from './text-features.js';
import { fitTextModel, textEmbedding } from './text-model.js';

const modelsDir = mkdtempSync(path.join(tmpdir(), 'offline-'));
afterAll(() => rmSync(modelsDir, { recursive: true, force: true }));
const words = [['sofa', 'table', 'chair', 'lamp'], ['phone', 'iphone', 'samsung', 'charger'], ['drill', 'saw', 'hammer', 'screws']];
const r = new Rng(5);
const listings = Array.from({ length: 90 }, (_, i) => {
  const c = i % 3;
  const text = Array.from({ length: 6 }, () => words[c]![r.int(4)]).join(' ') + ' posted in town';
  return { id: `id${i}`, modelText: text, label: c };
});
// Photos: class-coloured noise, 8x8 RGB so the test stays fast.
const photos = listings.map((l) => ({
  listingId: l.id, imageId: `img-${l.id}`,
  rgb: Uint8Array.from({ length: 8 * 8 * 3 }, (_, j) => (j % 3 === l.label ? 200 : 30) + r.int(40)),
}));
const imageFeatures = { size: 8, patch: 3, centroids: 8, grid: 2, alpha: 0.5, epsNorm: 0.01, epsZca: 0.1 };

describe('fitOfflineEncoders', () => {
  it('writes both encoders with checksummed manifest entries and ONNX that matches the TypeScript text model', async () => {
    const fit = await fitOfflineEncoders({ listings, photos }, path.join(modelsDir, 'generated'), {
      modelsDir, classes: ['a', 'b', 'c'], folds: 3, imageFeatures, imageFit: { patches: 500, iterations: 3, seed: 1 },
      textFit: { epochs: 5, lr: 1, l2: 1e-6, seed: 1 },
    });
    for (const e of [fit.text, fit.image]) {
      const bytes = readFileSync(path.join(modelsDir, e.files[0]!.path));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(e.files[0]!.sha256);
    }
    expect(fit.outOfFoldText.size).toBe(listings.length);
    const te = await OfflineTextEncoder.load(fit.text, modelsDir);
    const texts = [listings[0]!.modelText, 'Sofa & CHAIR!! unseen-word', ''];
    const onnx = await te.encode(texts);
    const rows = listings.map((l) => sparseRow(l.modelText, te.params));
    const ts = fitTextModel(rows, listings.map((l) => l.label), 2 ** te.params.bits, 3, { epochs: 5, lr: 1, l2: 1e-6, seed: 1 });
    texts.forEach((t, i) => textEmbedding(ts, sparseRow(t, te.params)).forEach((v, k) => expect(Math.abs(v - onnx[i]![k]!)).toBeLessThan(1e-4)));
    expect(onnx[0]!.indexOf(Math.max(...onnx[0]!))).toBe(0);
    await te.close();
    const ie = await OfflineImageEncoder.load(fit.image, modelsDir);
    const emb = await ie.encode(photos.slice(0, 4).map((p) => p.rgb));
    expect(emb).toHaveLength(4);
    expect(emb[0]!.length).toBe(fit.image.embeddingDim);
    expect(emb.every((e) => e.every(Number.isFinite))).toBe(true);
    await ie.close();
  });
});
