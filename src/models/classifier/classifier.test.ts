import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../offline/random.js';
import { bytesSession, runOutput } from '../offline/session.js';
import { pino } from 'pino';
import { loadConfig } from '../../config.js';
import { openClassifier } from '../load.js';
import { classifierManifestEntry, classifierOnnx, exportClassifierOnnx } from './export.js';
import { forward, memberModels, predictProbs, softmax } from './mlp.js';
import { trainClassifier, trainEnsemble, type TrainItem } from './train.js';
import { scores } from '../../training/scores.js';

// A learnable toy: class = argmax of the first 3 text dims; images carry a noisy copy of the label.
function toy(n: number, seed: number): TrainItem[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const text = Float32Array.from({ length: 6 }, () => r.normal());
    let label = 0;
    for (let k = 1; k < 3; k++) if (text[k]! > text[label]!) label = k;
    const img = Float32Array.from({ length: 5 }, (_, j) => (j === label ? 2 : 0) + r.normal());
    return { id: `l${i}`, label, text, images: [img] };
  });
}
/** ONNX feeds of toy items: each one's first photo embedding and its text embedding. */
function feedsOf(items: TrainItem[]) {
  return {
    image: { type: 'float32' as const, data: new Float32Array(items.flatMap((t) => Array.from(t.images[0]!))), dims: [items.length, 5] },
    text: { type: 'float32' as const, data: new Float32Array(items.flatMap((t) => Array.from(t.text!))), dims: [items.length, 6] },
  };
}
const dir = mkdtempSync(path.join(tmpdir(), 'clf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trainClassifier', () => {
  const data = toy(400, 1);
  const opts = { seed: 3, epochs: 12, lr: 0.01, batchSize: 32, patience: 50, hidden: 16, classes: 3 };

  it('learns a toy problem and is deterministic given the seed', () => {
    const a = trainClassifier(data, opts);
    const b = trainClassifier(data, opts);
    expect(a.report.validation.accuracy).toBeGreaterThan(0.85);
    expect(Array.from(a.model.params.Wc)).toEqual(Array.from(b.model.params.Wc));
  });

  it('resumes from a checkpoint to the same result as an uninterrupted run', () => {
    const full = trainClassifier(data, opts);
    const ck = path.join(dir, 'ck.json');
    // Interrupt after epoch 5 (the checkpoint is written before the progress callback runs).
    expect(() => trainClassifier(data, { ...opts, checkpointPath: ck, onProgress: (p) => { if (p.record && p.epoch === 5) throw new Error('interrupted'); } })).toThrow('interrupted');
    const resumed = trainClassifier(data, { ...opts, checkpointPath: ck, resume: true });
    expect(resumed.report.history.map((h) => h.epoch)).toEqual(full.report.history.map((h) => h.epoch));
    expect(Array.from(resumed.model.params.Wi)).toEqual(Array.from(full.model.params.Wi));
  });

  it('refuses to resume a checkpoint written for other listings or another seed', () => {
    const ck = path.join(dir, 'ck-other.json');
    trainClassifier(data, { ...opts, epochs: 2, checkpointPath: ck });
    expect(() => trainClassifier(data.slice(0, 300), { ...opts, checkpointPath: ck, resume: true })).toThrow(/different training run/);
    expect(() => trainClassifier(data, { ...opts, seed: 4, checkpointPath: ck, resume: true })).toThrow(/different training run/);
    // A longer budget is still the same run: it continues from epoch 2.
    const more = trainClassifier(data, { ...opts, epochs: 4, checkpointPath: ck, resume: true });
    expect(more.report.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
  });

  it('stops early when validation loss stops improving', () => {
    const r = trainClassifier(toy(200, 2).map((t, i) => ({ ...t, label: i % 3 })), { ...opts, epochs: 60, patience: 2 });
    expect(r.report.stoppedEarly).toBe(true);
    expect(r.report.history.length).toBeLessThan(60);
  });

  it('does not call a run that used its whole epoch budget stopped early', () => {
    // Seed 1, 8 epochs, patience 1: epoch 8 is the first without improvement, so patience and the budget
    // run out together; all 8 epochs ran.
    const noise = toy(200, 2).map((t, i) => ({ ...t, label: i % 3 }));
    const r = trainClassifier(noise, { ...opts, hidden: 8, epochs: 8, patience: 1, seed: 1 });
    expect(r.report.history).toHaveLength(8);
    expect(r.report.bestEpoch).toBe(7);
    expect(r.report.stoppedEarly).toBe(false);
  });

  it('averages macro-F1 over the classes present, as evaluate does, when a class is missing from validation', () => {
    // Class 2 never occurs: the report's macro-F1 must equal scores() on its own confusion matrix.
    const r = trainClassifier(data.map((t) => ({ ...t, label: t.label === 2 ? 0 : t.label })), { ...opts, epochs: 3 });
    const v = r.report.validation;
    expect(v.confusion[2]!.reduce((a, b) => a + b, 0)).toBe(0);
    const pairs = v.confusion.flatMap((row, truth) => row.flatMap((n, predicted) => Array.from({ length: n }, () => ({ truth, predicted }))));
    expect(v.macroF1).toBeCloseTo(scores(pairs, 3).macroF1, 10);
    expect(v.macroF1).toBeCloseTo((v.perClass[0]!.f1 + v.perClass[1]!.f1) / 2, 10);
  });
});

describe('classifier ONNX export', () => {
  it('matches the TypeScript forward pass within 1e-4', async () => {
    const { model } = trainClassifier(toy(200, 4), { seed: 1, epochs: 2, lr: 0.01, batchSize: 32, patience: 5, hidden: 8, classes: 3 });
    const s = await bytesSession(classifierOnnx(model));
    const items = toy(5, 9);
    const feeds = feedsOf(items);
    const combined = (await runOutput(s, feeds, 'probs_combined')).data;
    const textProbs = (await runOutput(s, feeds, 'probs_text')).data;
    items.forEach((t, i) => {
      const f = forward(model, { text: t.text, image: t.images[0]!, label: t.label });
      softmax(f.combined!).forEach((v, k) => expect(Math.abs(v - combined[i * 3 + k]!)).toBeLessThan(1e-4));
      softmax(f.textLogits!).forEach((v, k) => expect(Math.abs(v - textProbs[i * 3 + k]!)).toBeLessThan(1e-4));
    });
    await s.close();
  });
});

describe('classifier ONNX export with one modality missing (batch of 1)', () => {
  // load.ts feeds zeros for a missing modality; the graph must then give what forward() gives for null:
  // that branch's features are zero (the similarity embedding), and the other head is unchanged.
  const data = toy(200, 13);
  const check = async (model: ReturnType<typeof trainClassifier>['model']) => {
    const s = await bytesSession(classifierOnnx(model));
    const t = toy(1, 14)[0]!;
    for (const missing of ['image', 'text'] as const) {
      const feeds = {
        image: { type: 'float32' as const, data: missing === 'image' ? new Float32Array(5) : t.images[0]!, dims: [1, 5] },
        text: { type: 'float32' as const, data: missing === 'text' ? new Float32Array(6) : t.text!, dims: [1, 6] },
      };
      const sample = { text: missing === 'text' ? null : t.text, image: missing === 'image' ? null : t.images[0]!, label: t.label };
      const head = missing === 'image' ? 'probs_text' : 'probs_image';
      const probs = (await runOutput(s, feeds, head)).data;
      const p = predictProbs(model, sample);
      (missing === 'image' ? p.text! : p.image!).forEach((v, k) => expect(Math.abs(v - probs[k]!)).toBeLessThan(1e-4));
      const emb = (await runOutput(s, feeds, 'embedding')).data;
      const f = forward(memberModels(model)[0]!, sample);
      expect(emb).toHaveLength(2 * model.shape.hidden);
      [...f.hi, ...f.ht].forEach((v, k) => expect(Math.abs(v - emb[k]!)).toBeLessThan(1e-4));
    }
    await s.close();
  };

  it('a single model: the missing branch adds nothing to the embedding', async () => {
    await check(trainClassifier(data, { seed: 1, epochs: 2, lr: 0.01, batchSize: 32, patience: 5, hidden: 8, classes: 3 }).model);
  });

  it('an ensemble (fused graph): the missing branch adds nothing to the embedding', async () => {
    await check(trainEnsemble(data, { seed: 1, epochs: 2, lr: 0.01, batchSize: 32, patience: 5, hidden: 8, classes: 3, members: 2 }).model);
  });
});

describe('classifier image columns', () => {
  it('reads only the chosen image columns, the same way in TypeScript and ONNX', async () => {
    const data = toy(200, 6);
    const { model } = trainClassifier(data, { seed: 1, epochs: 3, lr: 0.01, batchSize: 32, patience: 5, hidden: 8, classes: 3, imageColumns: [1, 4] });
    expect(model.shape.imageDim).toBe(3);
    expect(model.shape.imageInputDim).toBe(5);
    const s = await bytesSession(classifierOnnx(model));
    const items = toy(4, 10);
    const feeds = feedsOf(items);
    const img = (await runOutput(s, feeds, 'probs_image')).data;
    items.forEach((t, i) => {
      softmax(forward(model, { text: null, image: t.images[0]!, label: t.label }).imageLogits!)
        .forEach((v, k) => expect(Math.abs(v - img[i * 3 + k]!)).toBeLessThan(1e-4));
    });
    await s.close();
    expect(() => trainClassifier(data, { seed: 1, epochs: 1, lr: 0.01, batchSize: 32, patience: 5, imageColumns: [3, 9] })).toThrow(/imageColumns/);
  });

  it('is served the same through openClassifier, which copies and checks only those columns', async () => {
    const data = toy(200, 7);
    const { model } = trainClassifier(data, { seed: 1, epochs: 3, lr: 0.01, batchSize: 32, patience: 5, hidden: 8, classes: 3, imageColumns: [1, 4] });
    const dir = mkdtempSync(path.join(tmpdir(), 'classifier-columns-'));
    const file = exportClassifierOnnx(model, path.join(dir, 'classifier.onnx'), dir);
    const entry = classifierManifestEntry(model, file, { version: 'columns-test', classes: ['a', 'b', 'c'], imageEncoder: 'i', textEncoder: 't' });
    const served = (await openClassifier({ ...loadConfig({ MODELS_DIR: dir }), INFER_MAX_DELAY_MS: 0 }, pino({ level: 'silent' }), undefined, entry))!;
    try {
      for (const t of toy(6, 11)) {
        // Values in the columns the classifier does not read change nothing, not even NaN.
        const image = Float32Array.from(t.images[0]!);
        image[0] = Number.NaN;
        image[4] = 1e6;
        const got = await served.classify({ text: t.text, image });
        const want = predictProbs(model, { text: t.text, image: t.images[0]!, label: t.label }).combined!;
        want.forEach((v, k) => expect(Math.abs(v - got.probabilities[k]!)).toBeLessThan(1e-4));
      }
      const bad = Float32Array.from(toy(1, 12)[0]!.images[0]!);
      bad[2] = Number.NaN;
      await expect(served.classify({ text: null, image: bad })).rejects.toThrow(/image embedding contains NaN/);
    } finally {
      await served.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('seed ensemble', () => {
  const data = toy(300, 11);
  const opts = { seed: 4, epochs: 6, lr: 0.01, batchSize: 32, patience: 50, hidden: 8, classes: 3, members: 3 };

  it('trains one member per seed and exports the mean of their probabilities, with the first member\'s embedding', async () => {
    const { model, members, report } = trainEnsemble(data, opts);
    expect(members.map((m) => m.seed)).toEqual([4, 5, 6]);
    expect(model.members).toHaveLength(2);
    // A member is the single model its seed trains.
    expect(Array.from(model.members![0]!.Wc)).toEqual(Array.from(trainClassifier(data, { ...opts, seed: 5 }).model.params.Wc));
    expect(Array.from(model.members![0]!.Wc)).not.toEqual(Array.from(model.params.Wc));
    expect(report.validation.accuracy).toBeGreaterThan(0.8);
    // Members of one training split standardise alike, so the export takes its fused (wide-Gemm) form.
    expect(Array.from(model.members![1]!.txtStd)).toEqual(Array.from(model.params.txtStd));
    const mismatched = { ...model, members: [{ ...model.members![0]!, txtStd: model.params.txtStd.map((v) => v * 2) }] };
    expect(() => classifierOnnx(mismatched)).toThrow(/standardise/);
    const s = await bytesSession(classifierOnnx(model));
    const items = toy(5, 12);
    const feeds = feedsOf(items);
    const out = Object.fromEntries(await Promise.all(['probs_combined', 'probs_text', 'probs_image', 'embedding'].map(async (n) => [n, (await runOutput(s, feeds, n)).data] as const)));
    await s.close();
    items.forEach((t, i) => {
      const sample = { text: t.text, image: t.images[0]!, label: t.label };
      const p = predictProbs(model, sample);
      // The ensemble's probabilities are the members' mean, not any one member's.
      const each = memberModels(model).map((mm) => softmax(forward(mm, sample).combined!));
      p.combined!.forEach((v, k) => expect(v).toBeCloseTo(each.reduce((a, e) => a + e[k]!, 0) / 3, 6));
      for (const [name, probs] of [['probs_combined', p.combined], ['probs_text', p.text], ['probs_image', p.image]] as const) {
        probs!.forEach((v, k) => expect(Math.abs(v - out[name]![i * 3 + k]!)).toBeLessThan(1e-4));
      }
      const f = forward(memberModels(model)[0]!, sample);
      [...f.hi, ...f.ht].forEach((v, k) => expect(Math.abs(v - out.embedding![i * 16 + k]!)).toBeLessThan(1e-4));
    });
  });

  it('resumes an interrupted member from its checkpoint and keeps finished ones', () => {
    const full = trainEnsemble(data, opts);
    const ck = path.join(dir, 'ens.json');
    expect(() => trainEnsemble(data, { ...opts, checkpointPath: ck, onProgress: (p) => { if (p.record && p.member === 2 && p.epoch === 3) throw new Error('interrupted'); } })).toThrow('interrupted');
    const resumed = trainEnsemble(data, { ...opts, checkpointPath: ck, resume: true });
    expect(Array.from(resumed.model.params.Wi)).toEqual(Array.from(full.model.params.Wi));
    resumed.model.members!.forEach((m, i) => expect(Array.from(m.Wi)).toEqual(Array.from(full.model.members![i]!.Wi)));
  });
});
