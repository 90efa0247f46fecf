// The API's in-memory vector index, kept consistent with Postgres: a full load at start, then a poll
// for predictions stored since the last one (every SEARCH_INDEX_POLL_MS), and a periodic reload of the
// store from scratch that also drops listings deleted in the meantime. It indexes one model version: the
// classifier the API runs, or without one the version that stored the latest prediction.
// Searches scan every row exactly until the index holds annThreshold rows; from there an HNSW graph
// proposes candidates that the exact store re-scores (approximate-search.ts).
import type { Queryable } from '../db/pool.js';
import { latestPredictionVersion, predictionEmbeddingsAfter, type EmbeddingCursor } from '../db/search-repo.js';
import type { Logger } from '../logging.js';
import { categoryPrior } from './category-prior.js';
import { ApproximateSearch, type ApproximateCounts } from './approximate-search.js';
import { ExactIndex, type Neighbour, type SearchOptions } from './exact-index.js';

export interface SearchIndexOptions {
  db: Queryable;
  log: Logger;
  /** The version to index; null follows the latest stored prediction's version. */
  modelVersion: string | null;
  pollMs: number;
  resyncMs: number;
  /** Class names in the classifier's code order (how stored probabilities are read). */
  classes: readonly string[];
  /**
   * Weight of the category prior in the ranking score: cosine + weight * P(query is in the row's
   * category). 0 ranks by cosine alone. See docs/api.md for the measured effect.
   */
  categoryWeight: number;
  /**
   * Size from which searches go through an HNSW graph instead of one exact scan (default 20,000, where
   * an exact scan starts to eat the 20 ms /similar objective); 0 never builds one. See docs/api.md.
   */
  annThreshold?: number;
  /** efSearch of the HNSW graph (default 64); raised to the over-fetched candidate count when lower. */
  annEf?: number;
  /** Rows re-read on every poll to catch late commits (default 2 s). */
  rewindMs?: number;
  pageSize?: number;
}

export type SearchMode = 'exact' | 'hnsw';

export interface IndexStatus {
  ready: boolean;
  /** How searches are answered: one exact scan, or HNSW candidates re-scored exactly. */
  mode: SearchMode;
  /** In hnsw mode, how searches were answered since the store was last loaded; null in exact mode. */
  approximate: ApproximateCounts | null;
  modelVersion: string | null;
  size: number;
  dim: number;
  /** Epoch ms of the last successful sync, or null before the first. */
  syncedAt: number | null;
  lastError: string | null;
}

export const DEFAULT_ANN_THRESHOLD = 20_000;
export const DEFAULT_ANN_EF = 64;

export class SearchIndex {
  private index = new ExactIndex();
  /** Present from annThreshold rows on; always over the same store as `index`. */
  private approximate: ApproximateSearch | null = null;
  private probabilities = new Map<string, Float32Array>();
  private version: string | null = null;
  private cursor: EmbeddingCursor | null = null;
  private syncedAt: number | null = null;
  private lastResync = 0;
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  /** Aborted by close(), so a graph build in progress does not hold up shutdown. */
  private readonly closing = new AbortController();

  constructor(private readonly opts: SearchIndexOptions) {}

  get ready(): boolean {
    return this.syncedAt !== null;
  }

  get modelVersion(): string | null {
    return this.version;
  }

  get size(): number {
    return this.index.size;
  }

  get mode(): SearchMode {
    return this.approximate ? 'hnsw' : 'exact';
  }

  status(): IndexStatus {
    const approximate = this.approximate ? { ...this.approximate.counts } : null;
    return { ready: this.ready, mode: this.mode, approximate, modelVersion: this.version, size: this.index.size, dim: this.index.dim, syncedAt: this.syncedAt, lastError: this.lastError };
  }

  /** Loads everything, then keeps polling until close(). Throws when the first load fails. */
  async start(): Promise<void> {
    await this.sync();
    if (this.lastError) throw new Error(`The search index could not be loaded from Postgres: ${this.lastError}`);
    const tick = () => {
      if (this.closed) return;
      this.timer = setTimeout(() => void this.sync().finally(tick), this.opts.pollMs);
      this.timer.unref();
    };
    tick();
  }

  /** One sync now (tests call this instead of waiting for the poll); concurrent calls share one run. */
  sync(): Promise<void> {
    this.running ??= this.syncOnce().finally(() => (this.running = null));
    return this.running;
  }

  private async syncOnce(): Promise<void> {
    try {
      const wanted = this.opts.modelVersion ?? (await latestPredictionVersion(this.opts.db));
      if (wanted !== this.version || Date.now() - this.lastResync >= this.opts.resyncMs) await this.rebuild(wanted);
      else await this.follow();
      this.syncedAt = Date.now();
      this.lastError = null;
    } catch (err) {
      if (this.closed) return; // an abandoned graph build, not a failure
      // The index keeps serving what it has; readiness reports the error until a sync succeeds.
      this.lastError = (err as Error).message;
      this.opts.log.warn({ err }, 'search index sync failed; serving the last loaded index');
    }
  }

  private async rebuild(version: string | null): Promise<void> {
    const fresh = new ExactIndex();
    const probabilities = new Map<string, Float32Array>();
    const cursor = version === null ? null : await this.load(fresh, probabilities, version, null, 0);
    // The graph is built (or the previous one of the same version brought up to date) before the swap,
    // yielding while it works, so searches meanwhile use the old index and never see a store without
    // its graph or a half-linked graph.
    let approximate: ApproximateSearch | null = null;
    if (this.wantsApproximate(fresh.size)) {
      const previous = version === this.version ? this.approximate : null;
      const { search, reused } = await ApproximateSearch.reuseOrBuild(previous, fresh, this.approximateOptions());
      approximate = search;
      this.opts.log.info({ size: fresh.size, graphNodes: search.size, reused }, reused ? 'search index kept its HNSW graph' : 'search index built its HNSW graph');
    }
    // Swap in one step so searches never see a half-built index.
    this.index = fresh;
    this.approximate = approximate;
    this.probabilities = probabilities;
    this.version = version;
    this.cursor = cursor;
    this.lastResync = Date.now();
    this.opts.log.info({ modelVersion: version, size: fresh.size, dim: fresh.dim, mode: this.mode }, 'search index loaded');
  }

  private async follow(): Promise<void> {
    if (this.version === null) return;
    const link = (id: string, vector: Float32Array) => this.approximate?.link(id, vector);
    this.cursor = await this.load(this.index, this.probabilities, this.version, this.cursor, this.opts.rewindMs ?? 2000, link);
    // Growing past the threshold between rebuilds switches at once rather than at the next rebuild.
    // Nothing else writes to the store while this sync runs, so it can be read while the graph builds.
    if (!this.approximate && this.wantsApproximate(this.index.size)) {
      this.approximate = await ApproximateSearch.build(this.index, this.approximateOptions());
      this.opts.log.info({ size: this.index.size }, 'search index switched to the HNSW graph');
    }
  }

  private wantsApproximate(size: number): boolean {
    const threshold = this.opts.annThreshold ?? DEFAULT_ANN_THRESHOLD;
    return threshold > 0 && size >= threshold;
  }

  private approximateOptions() {
    return { efSearch: this.opts.annEf ?? DEFAULT_ANN_EF, signal: this.closing.signal };
  }

  /**
   * Reads pages after the cursor into the index; returns the new cursor. With rewindMs the read starts
   * that much earlier (upserts are idempotent), and the cursor may end slightly behind the old one when
   * nothing newer exists, which only means the next poll re-reads a few rows. `upserted` hears of
   * every row read (the graph links only new and changed ones, so rewound re-reads cost nothing).
   */
  private async load(
    into: ExactIndex,
    probabilities: Map<string, Float32Array>,
    version: string,
    from: EmbeddingCursor | null,
    rewindMs: number,
    upserted?: (id: string, vector: Float32Array) => void,
  ): Promise<EmbeddingCursor | null> {
    const pageSize = this.opts.pageSize ?? 2000;
    let cursor = from && rewindMs > 0 ? { createdAt: from.createdAt, listingId: '' } : from;
    let rewind = rewindMs;
    for (;;) {
      const rows = await predictionEmbeddingsAfter(this.opts.db, version, cursor, pageSize, rewind);
      for (const r of rows) {
        into.upsert(r.listingId, r.category, r.embedding);
        probabilities.set(r.listingId, r.probabilities);
        upserted?.(r.listingId, r.embedding);
      }
      const tail = rows[rows.length - 1];
      if (tail) {
        cursor = { createdAt: tail.createdAt, listingId: tail.listingId };
        rewind = 0;
      }
      if (rows.length < pageSize) return cursor;
    }
  }

  /** Ranks against a query embedding; `probabilities` (class-code order) turn on the category prior. */
  search(query: Float32Array, opts: Omit<SearchOptions, 'prior'> & { probabilities?: ArrayLike<number> }): Neighbour[] {
    const { probabilities, ...rest } = opts;
    const options = probabilities ? { ...rest, prior: this.prior(probabilities) } : rest;
    return (this.approximate ?? this.index).search(query, options);
  }

  /** The listings most similar to an indexed one (itself left out), or null when it is not indexed. */
  similarTo(listingId: string, opts: Omit<SearchOptions, 'prior' | 'excludeId'>): Neighbour[] | null {
    const vector = this.index.vector(listingId);
    if (!vector) return null;
    const probabilities = this.probabilities.get(listingId);
    return this.search(vector, { ...opts, excludeId: listingId, ...(probabilities ? { probabilities } : {}) });
  }

  private prior(probabilities: ArrayLike<number>): Record<string, number> {
    return categoryPrior(this.opts.classes, probabilities, this.opts.categoryWeight);
  }

  /** The stored embedding of a listing, or null when it is not indexed. */
  vectorOf(listingId: string): Float32Array | null {
    return this.index.vector(listingId);
  }

  categoryOf(listingId: string): string | null {
    return this.index.category(listingId);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort(new Error('The search index was closed while it was building its HNSW graph.'));
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
