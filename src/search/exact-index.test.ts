import { describe, expect, it } from 'vitest';
import { ExactIndex, TopK, normalise } from './exact-index.js';

const v = (...xs: number[]) => Float32Array.from(xs);

describe('exact cosine index', () => {
  it('ranks by cosine similarity, excludes the query and filters by category', () => {
    const index = new ExactIndex();
    index.upsert('a', 'Toys', v(1, 0, 0));
    index.upsert('b', 'Toys', v(2, 0.2, 0));
    index.upsert('c', 'Tools', v(0.9, 0.5, 0));
    index.upsert('d', 'Tools', v(0, 0, 1));
    const hits = index.search(v(1, 0, 0), { k: 3, excludeId: 'a' });
    expect(hits.map((h) => h.id)).toEqual(['b', 'c', 'd']);
    expect(hits[0]!.score).toBeCloseTo(2 / Math.hypot(2, 0.2), 5);
    expect(index.search(v(1, 0, 0), { k: 5, category: 'Tools' }).map((h) => h.id)).toEqual(['c', 'd']);
    expect(index.search(v(1, 0, 0), { k: 5, category: 'Unknown' })).toEqual([]);
  });

  it('adds a category prior to the cosine and reports both', () => {
    const index = new ExactIndex();
    index.upsert('near-tool', 'Tools', v(1, 0.1));
    index.upsert('far-toy', 'Toys', v(1, 0.6));
    const plain = index.search(v(1, 0), { k: 2 });
    expect(plain.map((h) => h.id)).toEqual(['near-tool', 'far-toy']);
    const boosted = index.search(v(1, 0), { k: 2, prior: { Toys: 0.5 * 0.9, Tools: 0.5 * 0.1 } });
    expect(boosted.map((h) => h.id)).toEqual(['far-toy', 'near-tool']);
    expect(boosted[0]!.similarity).toBeCloseTo(1 / Math.hypot(1, 0.6), 5);
    expect(boosted[0]!.score).toBeCloseTo(boosted[0]!.similarity + 0.45, 5);
  });

  it('replaces, removes and grows while staying consistent', () => {
    const index = new ExactIndex(2, 2);
    for (let i = 0; i < 10; i++) index.upsert(`id${i}`, i % 2 ? 'odd' : 'even', v(1, i));
    expect(index.size).toBe(10);
    index.upsert('id3', 'even', v(-1, 0));
    expect(index.category('id3')).toBe('even');
    expect(index.remove('id0')).toBe(true);
    expect(index.remove('id0')).toBe(false);
    expect(index.size).toBe(9);
    // The row moved into the hole keeps its vector.
    expect([...index.vector('id9')!]).toEqual([...normalise(v(1, 9))]);
    expect(index.search(v(-1, 0), { k: 1 })[0]!.id).toBe('id3');
    expect(() => index.upsert('x', 'odd', v(1, 2, 3))).toThrow(/2-wide/);
  });

  it('keeps the k best in order', () => {
    const top = new TopK(3);
    [0.1, 0.9, 0.5, 0.7, 0.2].forEach((s, i) => top.push(i, s));
    expect(top.ids).toEqual([1, 3, 2]);
    expect(top.scores).toEqual([0.9, 0.7, 0.5]);
  });

  it('lets a row with NaN or infinite values match nothing instead of ranking first', () => {
    const index = new ExactIndex();
    index.upsert('nan', 'Toys', v(Number.NaN, 1));
    index.upsert('inf', 'Toys', v(Number.POSITIVE_INFINITY, 0));
    index.upsert('good', 'Toys', v(1, 0));
    index.upsert('ok', 'Toys', v(1, 1));
    const hits = index.search(v(1, 0), { k: 2 });
    expect(hits.map((h) => h.id)).toEqual(['good', 'ok']);
    expect(hits.every((h) => Number.isFinite(h.score))).toBe(true);
    // A NaN query scores every row 0 rather than NaN.
    expect(index.search(v(Number.NaN, 0), { k: 4 }).every((h) => h.score === 0)).toBe(true);
    const top = new TopK(2);
    [0.1, Number.NaN, 0.9, 0.5].forEach((s, i) => top.push(i, s));
    expect(top.ids).toEqual([2, 3]);
  });
});
