import { describe, expect, it } from 'vitest';
import { assignToCentroids, dotsGraph, sphericalKmeans } from './kmeans.js';
import { Rng } from './random.js';
import { bytesSession } from './session.js';

function randomUnitRows(rng: Rng, n: number, d: number): Float32Array {
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) { x[i * d + j] = rng.normal(); s += x[i * d + j]! ** 2; }
    for (let j = 0; j < d; j++) x[i * d + j]! /= Math.sqrt(s);
  }
  return x;
}

describe('spherical k-means', () => {
  it('assigns each row to the centroid of largest |dot| across chunk boundaries, as the definition says', async () => {
    const rng = new Rng(11);
    const M = 20_000, D = 12, K = 9; // M spans two MatMul chunks
    const x = randomUnitRows(rng, M, D);
    const cen = randomUnitRows(rng, K, D);
    const session = await bytesSession(dotsGraph());
    const { best, dot } = await assignToCentroids(session, x, M, D, cen, K);
    await session.close();
    let checked = 0;
    for (let m = 0; m < M; m++) {
      const dots = Array.from({ length: K }, (_, k) => {
        let s = 0;
        for (let j = 0; j < D; j++) s += x[m * D + j]! * cen[k * D + j]!;
        return s;
      });
      const order = dots.map((s, k) => [Math.abs(s), k] as const).sort((a, b) => b[0] - a[0]);
      if (order[0]![0] - order[1]![0] < 1e-4) continue; // a near tie may fall either way in float32
      expect(best[m]).toBe(order[0]![1]);
      expect(dot[m]).toBeCloseTo(dots[order[0]![1]]!, 4);
      checked++;
    }
    expect(checked).toBeGreaterThan(M * 0.99);
  });

  it('recovers planted directions of either sign', async () => {
    const rng = new Rng(5);
    const D = 16, K = 4, M = 4000;
    const dirs = randomUnitRows(rng, K, D);
    const x = new Float32Array(M * D);
    for (let m = 0; m < M; m++) {
      const k = m % K, sign = rng.next() < 0.5 ? -1 : 1, scale = 1 + rng.next();
      for (let j = 0; j < D; j++) x[m * D + j] = sign * scale * dirs[k * D + j]! + 0.05 * rng.normal();
    }
    const cen = await sphericalKmeans(x, M, D, K, 10, new Rng(2));
    const matched = new Set<number>();
    for (let c = 0; c < K; c++) {
      const cos = Array.from({ length: K }, (_, k) => {
        let s = 0;
        for (let j = 0; j < D; j++) s += cen[c * D + j]! * dirs[k * D + j]!;
        return Math.abs(s);
      });
      const k = cos.indexOf(Math.max(...cos));
      expect(cos[k]).toBeGreaterThan(0.99);
      matched.add(k);
    }
    expect(matched.size).toBe(K);
  });
});
