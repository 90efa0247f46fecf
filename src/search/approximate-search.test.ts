import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../images/synthetic.js';
import { ApproximateSearch } from './approximate-search.js';
import { ExactIndex, type SearchOptions } from './exact-index.js';
import { recallAgainst } from './recall.js';

const DIM = 32;
const CATEGORIES = ['Toys', 'Tools', 'Garden', 'Books', 'Music', 'Kitchen'];

/**
 * Clustered vectors whose categories follow the clusters loosely (85% take their cluster's category),
 * as the classifier's fused embeddings do: ties between clusters and categories are what make the
 * category prior reorder neighbours.
 */
function seeded(rows: number, seed: number) {
  const rand = seededRandom(seed);
  const centres = Array.from({ length: 24 }, () => Float32Array.from({ length: DIM }, () => rand() * 2 - 1));
  const store = new ExactIndex();
  const items: { id: string; cluster: number; v: Float32Array }[] = [];
  for (let i = 0; i < rows; i++) {
    const cluster = i % centres.length;
    const v = Float32Array.from(centres[cluster]!, (x) => x + (rand() - 0.5) * 1.6);
    const category = rand() < 0.85 ? CATEGORIES[cluster % CATEGORIES.length]! : CATEGORIES[Math.floor(rand() * CATEGORIES.length)]!;
    store.upsert(`r${i}`, category, v);
    items.push({ id: `r${i}`, cluster, v });
  }
  return { store, items, rand };
}

/** The API's prior: weight x the query's class probabilities, here peaked on one cluster's category. */
function priorFor(cluster: number, rand: () => number, weight = 0.5): Record<string, number> {
  const raw = CATEGORIES.map((_, c) => (c === cluster % CATEGORIES.length ? 3 : 0) + rand());
  const sum = raw.reduce((a, b) => a + b, 0);
  return Object.fromEntries(CATEGORIES.map((name, c) => [name, (weight * raw[c]!) / sum]));
}

const recall = recallAgainst;

describe('approximate search (HNSW candidates re-scored by the exact store)', () => {
  const { store, items, rand } = seeded(3000, 21);
  let approx: ApproximateSearch;
  beforeAll(async () => {
    approx = await ApproximateSearch.build(store, { efSearch: 64, m: 12, efConstruction: 80 });
  });
  const queries = Array.from({ length: 150 }, (_, i) => items[(i * 19) % items.length]!);
  const compare = (optionsOf: (q: (typeof queries)[number]) => SearchOptions) => {
    const a = queries.map((q) => approx.search(q.v, optionsOf(q)));
    const e = queries.map((q) => store.search(q.v, optionsOf(q)));
    return { a, e, recall: recall(a, e) };
  };

  it('finds nearly the exact top 10 by cosine, with the exact scores, and leaves the query out', () => {
    const before = { ...approx.counts };
    const { a, e, recall: r } = compare((q) => ({ k: 10, excludeId: q.id }));
    expect(r).toBeGreaterThanOrEqual(0.95);
    // Answered from the graph's candidates, not by quietly scanning everything.
    expect(approx.counts.exact - before.exact).toBe(0);
    a.forEach((hits, i) => {
      expect(hits).toHaveLength(10);
      expect(hits.map((h) => h.id)).not.toContain(queries[i]!.id);
      const exactScore = new Map(e[i]!.map((h) => [h.id, h.score]));
      for (const h of hits) if (exactScore.has(h.id)) expect(h.score).toBe(exactScore.get(h.id));
    });
  });

  it('keeps recall with the category prior, mostly without falling back to the exact scan', () => {
    const priors = new Map(queries.map((q) => [q.id, priorFor(q.cluster, rand)]));
    const before = { ...approx.counts };
    const { a, e, recall: r } = compare((q) => ({ k: 10, excludeId: q.id, prior: priors.get(q.id)! }));
    expect(r).toBeGreaterThanOrEqual(0.95);
    const exactScans = approx.counts.exact - before.exact;
    expect(exactScans).toBeLessThan(queries.length * 0.2);
    a.forEach((hits, i) => {
      const prior = priors.get(queries[i]!.id)!;
      for (const h of hits) expect(h.score - h.similarity).toBeCloseTo(prior[store.category(h.id)!]!, 6);
      expect(hits.map((h) => h.score)).toEqual([...hits.map((h) => h.score)].sort((x, y) => y - x));
      const exactScore = new Map(e[i]!.map((h) => [h.id, h.score]));
      for (const h of hits) if (exactScore.has(h.id)) expect(h.score).toBe(exactScore.get(h.id));
    });
  });

  it('widens the candidates when the prior favours rows far down the cosine order', () => {
    // The classifier's probabilities point at another cluster's category (a misclassified query): the
    // exact top 10 shares few rows with the cosine top 10, and the first candidates cannot be trusted.
    const priors = new Map(queries.map((q) => [q.id, priorFor(q.cluster + 1, rand)]));
    const before = { ...approx.counts };
    const { e, recall: r } = compare((q) => ({ k: 10, excludeId: q.id, prior: priors.get(q.id)! }));
    expect(r).toBeGreaterThanOrEqual(0.95);
    const cosineOnly = queries.map((q) => store.search(q.v, { k: 10, excludeId: q.id }));
    expect(recall(cosineOnly, e)).toBeLessThan(0.9);
    expect(approx.counts.widened - before.widened).toBeGreaterThan(queries.length / 2);
  });

  it('answers a category filter by the exact scan of that category, with and without the prior', () => {
    for (const withPrior of [false, true]) {
      const { a, recall: r } = compare((q) => ({
        k: 10,
        excludeId: q.id,
        category: CATEGORIES[(q.cluster + 1) % CATEGORIES.length]!,
        ...(withPrior ? { prior: priorFor(q.cluster, rand) } : {}),
      }));
      expect(r).toBeGreaterThanOrEqual(0.95);
      a.forEach((hits, i) => {
        expect(hits).toHaveLength(10);
        for (const h of hits) expect(store.category(h.id)).toBe(CATEGORIES[(queries[i]!.cluster + 1) % CATEGORIES.length]);
      });
    }
  });

  it('answers exactly when the candidates run short, and never returns a row the store dropped', async () => {
    // A category with three far-away members: no candidate list holds them, the exact scan does.
    const far = Float32Array.from({ length: DIM }, (_, i) => (i % 2 ? 5 : -5));
    const rare = ['rare-1', 'rare-2', 'rare-3'];
    const small = seeded(1000, 5);
    rare.forEach((id, i) => small.store.upsert(id, 'Rare', Float32Array.from(far, (x) => x + i)));
    const smallApprox = await ApproximateSearch.build(small.store, { efSearch: 32 });
    const q = small.items[0]!.v;
    const hits = smallApprox.search(q, { k: 5, category: 'Rare' });
    expect(hits.map((h) => h.id).sort()).toEqual(rare);
    expect(hits).toEqual(small.store.search(q, { k: 5, category: 'Rare' }));
    expect(smallApprox.counts.exact).toBe(1);
    expect(smallApprox.search(q, { k: 5, category: 'Unknown' })).toEqual([]);

    // Removed from the store after the graph was built: the graph still proposes it, the store drops it.
    const gone = small.items[40]!;
    expect(smallApprox.search(gone.v, { k: 10 }).map((h) => h.id)).toContain(gone.id);
    expect(small.store.remove(gone.id)).toBe(true);
    const after = smallApprox.search(gone.v, { k: 10 });
    expect(after).toHaveLength(10);
    expect(after.map((h) => h.id)).not.toContain(gone.id);
    expect(recall([after], [small.store.search(gone.v, { k: 10 })])).toBeGreaterThanOrEqual(0.8);
  });

  it('keeps its graph across a resync of the same store with few changes, and rebuilds it after many', async () => {
    const base = seeded(1000, 9);
    const first = await ApproximateSearch.build(base.store, { efSearch: 32 });
    const copy = (changed: number) => {
      // The store as a resync reloads it: every row again, `changed` of them moved far away, one deleted, two new.
      const store = new ExactIndex();
      base.items.forEach((it, i) => {
        if (i === 0) return;
        const moved = i <= changed ? Float32Array.from({ length: DIM }, (_, d) => (d === i % DIM ? 6 : 0) + (d % 2 ? 3 : -3)) : it.v;
        store.upsert(it.id, base.store.category(it.id)!, moved);
      });
      store.upsert('new-1', 'Toys', Float32Array.from({ length: DIM }, (_, d) => (d % 3 ? -4 : 4)));
      store.upsert('new-2', 'Toys', base.items[5]!.v);
      return store;
    };

    const few = copy(20);
    const kept = await ApproximateSearch.reuseOrBuild(first, few, { efSearch: 32 });
    expect(kept.reused).toBe(true);
    // 2 new rows and 20 moved ones get nodes; the deleted row's node stays until a rebuild.
    expect(kept.search.size).toBe(1000 + 22);
    for (const id of ['new-1', 'r3', 'r20']) expect(kept.search.search(few.vector(id)!, { k: 1 })[0]!.id).toBe(id);
    expect(kept.search.search(base.items[0]!.v, { k: 10 }).map((h) => h.id)).not.toContain('r0');
    const queries = base.items.slice(100, 160).map((it) => it.v);
    expect(recall(queries.map((q) => kept.search.search(q, { k: 10 })), queries.map((q) => few.search(q, { k: 10 })))).toBeGreaterThanOrEqual(0.95);

    const many = copy(150);
    const rebuilt = await ApproximateSearch.reuseOrBuild(kept.search, many, { efSearch: 32 });
    expect(rebuilt.reused).toBe(false);
    expect(rebuilt.search.size).toBe(many.size);
  });
});
