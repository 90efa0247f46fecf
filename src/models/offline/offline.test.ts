import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OfflineImageEncoder, OfflineTextEncoder } from './encoders.js';
import { fitOfflineEncoders } from './fit.js';
import { Rng } from './random.js';
import { locationRow, sparseRow, titleRow } from './text-features.js';
import { fitTextModel, textEmbedding } from './text-model.js';

const modelsDir = mkdtempSync(path.join(tmpdir(), 'offline-'));
afterAll(() => rmSync(modelsDir, { recursive: true, force: true }));
const words = [['sofa', 'table', 'chair', 'lamp'], ['phone', 'iphone', 'samsung', 'charger'], ['drill', 'saw', 'hammer', 'screws']];
const r = new Rng(5);
const listings = Array.from({ length: 90 }, (_, i) => {
  const c = i % 3;
  const text = Array.from({ length: 6 }, () => words[c]![r.int(4)]).join(' ') + ' posted in town';
  // Names carry the class word; prices separate the classes too (cheap, mid, dear).
  // Each class sells from its own towns (a shop lists many items of one kind).
  const location = [['Leeds, West Yorkshire', 'York'], ['Bath, Somerset', 'Bristol'], ['Leeds, Kent', 'Dover, Kent']][c]![r.int(2)]!;
  return { id: `id${i}`, modelText: text, label: c, name: `${words[c]![r.int(4)]} for sale`, price: i % 5 === 0 ? null : 10 ** (c + 1), location };
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
    expect(fit.outOfFoldImage.size).toBe(photos.length);
    expect(fit.outOfFoldImage.get(photos[0]!.imageId)!.length).toBe(fit.image.embeddingDim);
    const te = await OfflineTextEncoder.load(fit.text, modelsDir);
    const texts = [listings[0]!.modelText, 'Sofa & CHAIR!! unseen-word', ''];
    const fields = [
      { name: listings[0]!.name, price: listings[0]!.price, location: listings[0]!.location }, { name: 'Drill', price: 1000, location: 'Dover, Kent' }, { name: '', price: null },
    ];
    const onnx = await te.encode(texts, fields);
    expect(te.extraViews).toEqual(['title_', 'location_']);
    expect(onnx[0]!.length).toBe(9);
    expect(fit.outOfFoldText.get('id0')!.length).toBe(9);
    const rows = listings.map((l) => sparseRow(l.modelText, te.params));
    const ts = fitTextModel(rows, listings.map((l) => l.label), 2 ** te.params.bits, 3, { epochs: 5, lr: 1, l2: 1e-6, seed: 1 });
    texts.forEach((t, i) => textEmbedding(ts, sparseRow(t, te.params)).forEach((v, k) => expect(Math.abs(v - onnx[i]![k]!)).toBeLessThan(1e-4)));
    const titleRows = listings.map((l) => titleRow(l.name, l.price, te.params));
    const tt = fitTextModel(titleRows, listings.map((l) => l.label), 2 ** te.params.bits, 3, { epochs: 5, lr: 1, l2: 1e-6, seed: 1 });
    fields.forEach((f, i) => textEmbedding(tt, titleRow(f.name, f.price, te.params)).forEach((v, k) => expect(Math.abs(v - onnx[i]![3 + k]!)).toBeLessThan(1e-4)));
    const locRows = listings.map((l) => locationRow(l.location, te.params));
    const tl = fitTextModel(locRows, listings.map((l) => l.label), 2 ** te.params.bits, 3, { epochs: 5, lr: 1, l2: 1e-6, seed: 1 });
    fields.forEach((f, i) => textEmbedding(tl, locationRow(f.location ?? '', te.params)).forEach((v, k) => expect(Math.abs(v - onnx[i]![6 + k]!)).toBeLessThan(1e-4)));
    // "Dover, Kent" is a class-2 town; the place token keeps "Leeds, Kent" (class 2) apart from "Leeds, West Yorkshire" (class 0).
    expect(Array.from(onnx[1]!.subarray(6)).indexOf(Math.max(...onnx[1]!.subarray(6)))).toBe(2);
    expect(onnx[0]!.indexOf(Math.max(...onnx[0]!.subarray(0, 3)))).toBe(0);
    expect(Array.from(onnx[1]!.subarray(3)).indexOf(Math.max(...onnx[1]!.subarray(3)))).toBe(2);
    await te.close();
    const ie = await OfflineImageEncoder.load(fit.image, modelsDir);
    const emb = await ie.encode(photos.slice(0, 4).map((p) => p.rgb));
    expect(emb).toHaveLength(4);
    expect(emb[0]!.length).toBe(fit.image.embeddingDim);
    expect(emb.every((e) => e.every(Number.isFinite))).toBe(true);
    // The probe's class log-probabilities close the embedding and recover the class-coloured photos.
    const lp = emb.map((e) => Array.from(e.subarray(e.length - 3)));
    lp.forEach((l, i) => expect(l.indexOf(Math.max(...l))).toBe(listings[i]!.label));
    await ie.close();
  });
});

describe('fitOfflineEncoders on a catalogue with few photos and an empty text', () => {
  it('fits when every photographed listing falls in one out-of-fold fold, and embeds all labelled listings', async () => {
    // Only id0 has a photo, so the fold holding id0 leaves no photo to fit its image probe on.
    const few = listings.slice(0, 12).map((l, i) => (i === 3 ? { ...l, modelText: '', name: '', location: '' } : l));
    const fit = await fitOfflineEncoders({ listings: few, photos: [photos[0]!] }, path.join(modelsDir, 'few'), {
      modelsDir, classes: ['a', 'b', 'c'], folds: 3, threads: 1, imageFeatures, imageFit: { patches: 200, iterations: 2, seed: 1 },
      textFit: { epochs: 2, lr: 1, l2: 1e-6, seed: 1 },
    });
    expect(fit.outOfFoldText.size).toBe(few.length);
    expect(fit.outOfFoldText.get('id3')!.every(Number.isFinite)).toBe(true);
    const e = fit.outOfFoldImage.get(photos[0]!.imageId)!;
    expect(e).toHaveLength(fit.image.embeddingDim!);
    // No other photo to learn from: the out-of-fold probe part is uniform.
    Array.from(e.subarray(e.length - 3)).forEach((v) => expect(v).toBeCloseTo(-Math.log(3), 5));
  });
});
