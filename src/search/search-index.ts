// The API's in-memory vector index, kept consistent with Postgres: a full load at start, then a poll
// for predictions stored since the last one (every SEARCH_INDEX_POLL_MS), and a periodic rebuild from
// scratch that also drops listings deleted in the meantime. It indexes one model version: the
// classifier the API runs, or without one the version that stored the latest prediction.
import type { Queryable } from '../db/pool.js';
import { latestPredictionVersion, predictionEmbeddingsAfter, type EmbeddingCursor } from '../db/search-repo.js';
import type { Logger } from '../logging.js';
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
  /** Rows re-read on every poll to catch late commits (default 2 s). */
  rewindMs?: number;
  pageSize?: number;
}

export interface IndexStatus {
  ready: boolean;
  modelVersion: string | null;
  size: number;
  dim: number;
  /** Epoch ms of the last successful sync, or null before the first. */
  syncedAt: number | null;
  lastError: string | null;
}

export class SearchIndex {
  private index = new ExactIndex();
  private probabilities = new Map<string, Float32Array>();
  private version: string | null = null;
  private cursor: EmbeddingCursor | null = null;
  private syncedAt: number | null = null;
  private lastResync = 0;
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;

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

  status(): IndexStatus {
    return { ready: this.ready, modelVersion: this.version, size: this.index.size, dim: this.index.dim, syncedAt: this.syncedAt, lastError: this.lastError };
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
      // The index keeps serving what it has; readiness reports the error until a sync succeeds.
      this.lastError = (err as Error).message;
      this.opts.log.warn({ err }, 'search index sync failed; serving the last loaded index');
    }
  }

  private async rebuild(version: string | null): Promise<void> {
    const fresh = new ExactIndex();
    const probabilities = new Map<string, Float32Array>();
    const cursor = version === null ? null : await this.load(fresh, probabilities, version, null, 0);
    // Swap in one step so searches never see a half-built index.
    this.index = fresh;
    this.probabilities = probabilities;
    this.version = version;
    this.cursor = cursor;
    this.lastResync = Date.now();
    this.opts.log.info({ modelVersion: version, size: fresh.size, dim: fresh.dim }, 'search index loaded');
  }

  private async follow(): Promise<void> {
    if (this.version === null) return;
    this.cursor = await this.load(this.index, this.probabilities, this.version, this.cursor, this.opts.rewindMs ?? 2000);
  }

  /**
   * Reads pages after the cursor into the index; returns the new cursor. With rewindMs the read starts
   * that much earlier (upserts are idempotent), and the cursor may end slightly behind the old one when
   * nothing newer exists, which only means the next poll re-reads a few rows.
   */
  private async load(
    into: ExactIndex,
    probabilities: Map<string, Float32Array>,
    version: string,
    from: EmbeddingCursor | null,
    rewindMs: number,
  ): Promise<EmbeddingCursor | null> {
    const pageSize = this.opts.pageSize ?? 2000;
    let cursor = from && rewindMs > 0 ? { createdAt: from.createdAt, listingId: '' } : from;
    let rewind = rewindMs;
    for (;;) {
      const rows = await predictionEmbeddingsAfter(this.opts.db, version, cursor, pageSize, rewind);
      for (const r of rows) {
        into.upsert(r.listingId, r.category, r.embedding);
        probabilities.set(r.listingId, r.probabilities);
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
    return this.index.search(query, probabilities ? { ...rest, prior: this.prior(probabilities) } : rest);
  }

  /** The listings most similar to an indexed one (itself left out), or null when it is not indexed. */
  similarTo(listingId: string, opts: Omit<SearchOptions, 'prior' | 'excludeId'>): Neighbour[] | null {
    const vector = this.index.vector(listingId);
    if (!vector) return null;
    const probabilities = this.probabilities.get(listingId);
    return this.search(vector, { ...opts, excludeId: listingId, ...(probabilities ? { probabilities } : {}) });
  }

  private prior(probabilities: ArrayLike<number>): Record<string, number> {
    const out: Record<string, number> = {};
    const w = this.opts.categoryWeight;
    if (w === 0) return out;
    this.opts.classes.forEach((name, i) => (out[name] = w * (probabilities[i] ?? 0)));
    return out;
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
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
