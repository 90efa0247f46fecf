import { describe, expect, it } from 'vitest';
import { seededRandom } from '../images/synthetic.js';
import { ExactIndex } from './exact-index.js';
import { HnswIndex } from './hnsw.js';

describe('HNSW approximate index', () => {
  it('finds nearly the same 10 neighbours as exact search on clustered vectors', () => {
    const rand = seededRandom(9);
    const dim = 32;
    const centres = Array.from({ length: 20 }, () => Float32Array.from({ length: dim }, () => rand() * 2 - 1));
    const exact = new ExactIndex();
    const hnsw = new HnswIndex(dim, { m: 12, efConstruction: 80, efSearch: 64 });
    const vectors: Float32Array[] = [];
    for (let i = 0; i < 1000; i++) {
      const c = centres[i % centres.length]!;
      const v = Float32Array.from(c, (x) => x + (rand() - 0.5) * 0.8);
      vectors.push(v);
      exact.upsert(`v${i}`, 'all', v);
      hnsw.add(`v${i}`, v);
    }
    let hits = 0;
    for (let i = 0; i < 100; i++) {
      const q = vectors[i * 7]!;
      const truth = new Set(exact.search(q, { k: 10 }).map((h) => h.id));
      hits += hnsw.search(q, 10).filter((h) => truth.has(h.id)).length;
    }
    expect(hits / 1000).toBeGreaterThan(0.9);
    expect(new HnswIndex(4).search(Float32Array.from([1, 0, 0, 0]), 3)).toEqual([]);
  });
});
