import { describe, expect, it } from 'vitest';
import { fitProbe, probeGradient, probeGradientGraph, probeLogProbs } from './image-probe.js';
import { Rng } from './random.js';
import { bytesSession } from './session.js';

describe('image probe', () => {
  it('computes the mini-batch gradient of the mean cross-entropy as its definition says', async () => {
    const rng = new Rng(3);
    const n = 37, dim = 20, K = 5;
    const x = Float32Array.from({ length: n * dim }, () => rng.normal() * 2 + 1);
    const mean = Float32Array.from({ length: dim }, () => rng.normal());
    const invStd = Float32Array.from({ length: dim }, () => 0.5 + rng.next());
    const W = Float32Array.from({ length: dim * K }, () => rng.normal() * 0.3);
    const b = Float32Array.from({ length: K }, () => rng.normal() * 0.3);
    const labels = Int32Array.from({ length: n }, () => rng.int(K));
    const session = await bytesSession(probeGradientGraph());
    const { gW, gb } = await probeGradient(session, x, n, { mean, invStd, W, b }, labels, K);
    await session.close();

    const wantW = new Float64Array(dim * K), wantB = new Float64Array(K);
    for (let i = 0; i < n; i++) {
      const xs = Array.from({ length: dim }, (_, j) => (x[i * dim + j]! - mean[j]!) * invStd[j]!);
      const z = Array.from({ length: K }, (_, k) => b[k]! + xs.reduce((s, v, j) => s + v * W[j * K + k]!, 0));
      const mx = Math.max(...z);
      const e = z.map((v) => Math.exp(v - mx));
      const sum = e.reduce((s, v) => s + v, 0);
      for (let k = 0; k < K; k++) {
        const d = (e[k]! / sum - (k === labels[i] ? 1 : 0)) / n;
        wantB[k]! += d;
        for (let j = 0; j < dim; j++) wantW[j * K + k]! += xs[j]! * d;
      }
    }
    expect(gW).toHaveLength(dim * K);
    for (let i = 0; i < wantW.length; i++) expect(gW[i]).toBeCloseTo(wantW[i]!, 5);
    for (let k = 0; k < K; k++) expect(gb[k]).toBeCloseTo(wantB[k]!, 5);
  });

  it('learns separable classes whose signal sits in a few of many features', async () => {
    const rng = new Rng(9);
    const K = 4, dim = 64, perClass = 60, n = K * perClass;
    const make = (count: number): { x: Float32Array; y: number[] } => {
      const x = new Float32Array(count * dim);
      const y: number[] = [];
      for (let i = 0; i < count; i++) {
        const k = i % K;
        y.push(k);
        for (let j = 0; j < dim; j++) x[i * dim + j] = rng.normal() * 5 + 100; // large offset: standardising matters
        x[i * dim + k]! += 25; // class k raises feature k by five noise deviations
      }
      return { x, y };
    };
    const train = make(n);
    const probe = await fitProbe(train.x, n, dim, train.y, K, { epochs: 20, lr: 1e-2, l2: 1e-4, batchSize: 16, seed: 1 });
    const test = make(200);
    let correct = 0;
    for (let i = 0; i < 200; i++) {
      const lp = probeLogProbs(probe, test.x.subarray(i * dim, (i + 1) * dim));
      expect(lp.reduce((s, v) => s + Math.exp(v), 0)).toBeCloseTo(1, 5);
      if (lp.indexOf(Math.max(...lp)) === test.y[i]) correct++;
    }
    expect(correct / 200).toBeGreaterThan(0.9);
  });

  it('refuses an empty training set with a clear message', async () => {
    await expect(fitProbe(new Float32Array(0), 0, 4, [], 3, { epochs: 1, lr: 1e-2, l2: 0, batchSize: 4, seed: 1 })).rejects.toThrow(/labelled training photos/);
  });
});
