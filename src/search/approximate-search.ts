// Approximate search for large indexes: an HNSW graph proposes candidates and the exact store
// (ExactIndex, the store of record) decides. The graph ranks by cosine alone and may hold stale or
// deleted rows, so every candidate is re-scored from the store exactly as an exact scan scores it
// (cosine + the category prior's bonus); the graph only chooses which rows get scored. When the
// candidates cannot be trusted to contain the top k (too few survive re-scoring, or the prior could
// lift a row the graph did not propose), the candidate list is widened once and then the exact scan
// answers, so a strong prior costs time, never correctness beyond the graph's own misses. Searches
// filtered to one category use the exact scan, which then only scores that category's rows.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { normalise, type ExactIndex, type Neighbour, type SearchOptions } from './exact-index.js';
import { HnswIndex } from './hnsw.js';

export interface ApproximateOptions {
  /** efSearch: candidates the graph keeps while searching (raised to the candidate count when lower). */
  efSearch: number;
  /** Graph links per node and build-time candidate list (hnsw.ts defaults: 16 and 100). */
  m?: number;
  efConstruction?: number;
  /** Abandons a build in progress (the index is closing); build() then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Candidates asked of the graph for k results: over-fetched, because re-scoring and filters drop some. */
export function candidateCount(k: number): number {
  return Math.max(4 * k, 64);
}

/** How much wider the second (last) graph search is before falling back to the exact scan. */
const WIDEN = 4;
/** Longest stretch the graph build holds the event loop, so searches keep being answered meanwhile. */
const BUILD_SLICE_MS = 10;
/** The graph and the store normalise their own copies of a vector; this absorbs any rounding difference. */
const NORMALISE_SLACK = 1e-6;
/** A node whose cosine with its row's current vector is below 1 - this counts as moved. */
const UNCHANGED_SLACK = 1e-5;
/** Share of stale graph nodes up to which a resync keeps the graph (reuseOrBuild). */
export const MAX_STALE_FRACTION = 0.1;

/** How searches were answered since the store was loaded (the bench and tests read these). */
export interface ApproximateCounts {
  /** From the first candidate list. */
  candidates: number;
  /** From the widened candidate list. */
  widened: number;
  /** By the exact scan: a category filter, or neither list could be trusted. */
  exact: number;
}

export class ApproximateSearch {
  readonly counts: ApproximateCounts = { candidates: 0, widened: 0, exact: 0 };

  private constructor(
    private readonly store: ExactIndex,
    private readonly graph: HnswIndex,
    private readonly efSearch: number,
  ) {}

  /**
   * Builds the graph over every row of the store. Inserting costs milliseconds per row at 256
   * dimensions (minutes for a large index), so the build yields to the event loop every
   * BUILD_SLICE_MS: the API keeps answering from the index it already has while a rebuild runs, and a
   * closing index need not wait for the build to end. The caller must not change the store meanwhile.
   */
  static async build(store: ExactIndex, opts: ApproximateOptions): Promise<ApproximateSearch> {
    const graph = new HnswIndex(store.dim, { m: opts.m ?? 16, efConstruction: opts.efConstruction ?? 100, efSearch: opts.efSearch });
    await forEachRowYielding(store, (id, v) => graph.add(id, v), opts.signal);
    return new ApproximateSearch(store, graph, opts.efSearch);
  }

  /**
   * The graph for a freshly loaded store of the same model version: the previous one, with the store's
   * new and changed rows linked in, while at most MAX_STALE_FRACTION of its nodes are stale (their
   * listing deleted or its embedding changed since it was linked); otherwise a new build. Why: a periodic resync loads
   * the store from Postgres in about a second, but a graph build costs minutes at the sizes where the
   * graph is on, and re-scoring from the store already keeps answers right while a few nodes are stale.
   */
  static async reuseOrBuild(previous: ApproximateSearch | null, store: ExactIndex, opts: ApproximateOptions): Promise<{ search: ApproximateSearch; reused: boolean }> {
    if (previous && previous.store.dim === store.dim && previous.staleNodes(store) <= MAX_STALE_FRACTION * previous.graph.size) {
      const reused = new ApproximateSearch(store, previous.graph, opts.efSearch);
      await forEachRowYielding(store, (id, v) => reused.link(id, v), opts.signal);
      // The old search (still serving until the swap) shares the graph: it scores whatever the graph
      // proposes from its own store, so the nodes just linked change nothing in its answers.
      return { search: reused, reused: true };
    }
    return { search: await ApproximateSearch.build(store, opts), reused: false };
  }

  /** Graph nodes that no longer stand for a store row as it is: superseded, deleted, or moved. */
  private staleNodes(store: ExactIndex): number {
    let current = 0;
    for (const id of this.graph.nodeIds()) {
      const v = store.vector(id);
      // Both sides hold the normalised vector, so an unchanged one has a cosine of 1.
      if (v && this.graph.similarityOf(id, v)! >= 1 - UNCHANGED_SLACK) current += 1;
    }
    return this.graph.size - current;
  }

  get size(): number {
    return this.graph.size;
  }

  /**
   * Links a row the graph does not hold as it is: new, or with a changed vector. HNSW cannot move a
   * node, so a changed row gets a new node where it now belongs; the old node is superseded (searches
   * may still reach it, but every candidate is scored from the store and listed once) and counts as
   * stale until a rebuild drops it. An unchanged row (a poll's rewound re-read) is left alone.
   */
  link(id: string, vector: Float32Array): void {
    const current = this.graph.similarityOf(id, normalise(vector));
    if (current === null || current < 1 - UNCHANGED_SLACK) this.graph.add(id, vector);
  }

  search(query: Float32Array, opts: SearchOptions): Neighbour[] {
    // Wrong widths and empty stores get the exact scan's answer (and its explanatory error).
    if (query.length !== this.store.dim || this.store.size === 0 || opts.k <= 0) return this.store.search(query, opts);
    // A category filter goes straight to the exact scan: it computes dot products for that category's
    // rows only (about 1/13 of the index), while the graph's cosine candidates mostly lie in other
    // categories, so they were almost always widened and then scanned anyway (bench:api:ann measured
    // 265 of 300 filtered searches ending in the scan, p50 3.8 ms against 1.0 ms for the scan alone).
    if (opts.category !== undefined) {
      this.counts.exact += 1;
      return this.store.search(query, opts);
    }
    const q = normalise(query);
    const first = candidateCount(opts.k);
    const answer = this.fromCandidates(q, first, opts);
    if (answer) {
      this.counts.candidates += 1;
      return answer;
    }
    const wider = first < this.graph.size ? this.fromCandidates(q, first * WIDEN, opts) : null;
    if (wider) {
      this.counts.widened += 1;
      return wider;
    }
    this.counts.exact += 1;
    return this.store.search(query, opts);
  }

  /** The top k among `wanted` graph candidates, or null when they cannot be trusted to hold the top k. */
  private fromCandidates(q: Float32Array, wanted: number, opts: SearchOptions): Neighbour[] | null {
    const candidates = this.graph.search(q, wanted, Math.max(this.efSearch, wanted));
    const seen = new Set<string>();
    const kept: Neighbour[] = [];
    for (const c of candidates) {
      if (seen.has(c.id) || c.id === opts.excludeId) continue;
      seen.add(c.id);
      const category = this.store.category(c.id);
      // Rows removed from the store since the graph was built are absent here and dropped.
      if (category === null || (opts.category !== undefined && category !== opts.category)) continue;
      const similarity = this.store.similarity(c.id, q)!;
      // Math.fround: ExactIndex keeps the bonuses in a Float32Array, and equal inputs must score equally.
      const bonus = Math.fround(opts.prior?.[category] ?? 0);
      const score = similarity + bonus;
      kept.push({ id: c.id, score, similarity: score - bonus });
    }
    if (kept.length < opts.k) return null;
    kept.sort((a, b) => b.score - a.score);
    const top = kept.slice(0, opts.k);
    // A row the graph did not propose has a cosine of at most the last candidate's, so its score is at
    // most that plus the largest bonus it could get. If the k-th score already beats that bound, no
    // unproposed row can enter the top k (up to the graph's own misses, which recall measures).
    const lowest = candidates[candidates.length - 1]?.similarity ?? -Infinity;
    return top[top.length - 1]!.score >= lowest + largestBonus(opts) - NORMALISE_SLACK ? top : null;
  }
}

function largestBonus(opts: SearchOptions): number {
  if (!opts.prior) return 0;
  if (opts.category !== undefined) return Math.fround(opts.prior[opts.category] ?? 0);
  return Math.max(0, ...Object.values(opts.prior).map((b) => Math.fround(b)));
}

/**
 * Calls fn for every row of the store, yielding to the event loop every BUILD_SLICE_MS so that searches
 * keep being answered meanwhile; an aborted signal stops it at the next yield.
 */
async function forEachRowYielding(store: ExactIndex, fn: (id: string, vector: Float32Array) => void, signal?: AbortSignal): Promise<void> {
  let sliceStart = performance.now();
  for (const id of [...store.ids()]) {
    fn(id, store.vector(id)!);
    if (performance.now() - sliceStart > BUILD_SLICE_MS) {
      await yieldToEventLoop();
      signal?.throwIfAborted();
      sliceStart = performance.now();
    }
  }
}
