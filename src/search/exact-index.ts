// Exact cosine-similarity search over every listing's fused embedding, held in one contiguous
// Float32Array (row-major, rows L2-normalised) so a query is a single pass of dot products. At the
// catalogue's size (about 6,000 x 256) a query takes well under a millisecond. Above SEARCH_ANN_THRESHOLD
// rows SearchIndex puts an HNSW graph in front of it (approximate-search.ts); this stays the store of record.
import { dotAt } from './dot.js';

export interface Neighbour {
  id: string;
  /** The ranking score: cosine similarity plus the category prior's bonus (when one is given). */
  score: number;
  /** Cosine similarity of the two embeddings. */
  similarity: number;
}

export interface SearchOptions {
  k: number;
  /** Only rows whose category is this one. */
  category?: string;
  /** Leave this id out (the query listing itself). */
  excludeId?: string;
  /**
   * Bonus added to a row's cosine by the row's category (name -> bonus), e.g. the query's class
   * probabilities times a weight: neighbours in the classes the query most likely belongs to rank first.
   */
  prior?: Readonly<Record<string, number>>;
}

export interface VectorIndex {
  readonly size: number;
  readonly dim: number;
  upsert(id: string, category: string, vector: Float32Array): void;
  remove(id: string): boolean;
  has(id: string): boolean;
  /** The stored (normalised) vector of a row, or null. */
  vector(id: string): Float32Array | null;
  category(id: string): string | null;
  search(query: Float32Array, opts: SearchOptions): Neighbour[];
  ids(): IterableIterator<string>;
}

/**
 * L2-normalises into a new array; a zero vector stays zero (it matches nothing), and so does one holding
 * NaN or an infinity, whose cosine with anything would be NaN and sort above every real score.
 */
export function normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const out = new Float32Array(v.length);
  if (sum === 0 || !Number.isFinite(sum)) return out;
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * inv;
  return out;
}

/** Keeps the k best (highest score) candidates in descending order; O(k) insert, k is small. */
export class TopK {
  readonly ids: number[] = [];
  readonly scores: number[] = [];
  constructor(readonly k: number) {}

  get worst(): number {
    return this.ids.length < this.k ? -Infinity : this.scores[this.scores.length - 1]!;
  }

  push(id: number, score: number): void {
    // !(>) also refuses NaN (a NaN prior bonus): it compares false with everything and would block the order.
    if (this.k <= 0 || !(score > this.worst)) return;
    let at = this.scores.length;
    while (at > 0 && this.scores[at - 1]! < score) at--;
    this.ids.splice(at, 0, id);
    this.scores.splice(at, 0, score);
    if (this.ids.length > this.k) {
      this.ids.pop();
      this.scores.pop();
    }
  }
}

export class ExactIndex implements VectorIndex {
  private matrix: Float32Array;
  private rowIds: string[] = [];
  private rowCategory: number[] = [];
  private readonly rowOf = new Map<string, number>();
  private readonly categoryCodes = new Map<string, number>();
  private readonly categoryNames: string[] = [];
  private _dim: number;

  constructor(dim = 0, capacity = 1024) {
    this._dim = dim;
    this.matrix = new Float32Array(Math.max(1, dim) * capacity);
  }

  get size(): number {
    return this.rowIds.length;
  }

  get dim(): number {
    return this._dim;
  }

  private categoryCode(name: string): number {
    let code = this.categoryCodes.get(name);
    if (code === undefined) {
      code = this.categoryNames.length;
      this.categoryNames.push(name);
      this.categoryCodes.set(name, code);
    }
    return code;
  }

  upsert(id: string, category: string, vector: Float32Array): void {
    if (this._dim === 0) {
      this._dim = vector.length;
      this.matrix = new Float32Array(vector.length * Math.max(1024, this.matrix.length));
    }
    if (vector.length !== this._dim) {
      throw new Error(`Listing ${id} has a ${vector.length}-wide embedding but the index holds ${this._dim}-wide ones; rebuild the index for the new model version.`);
    }
    let row = this.rowOf.get(id);
    if (row === undefined) {
      row = this.rowIds.length;
      if ((row + 1) * this._dim > this.matrix.length) {
        const grown = new Float32Array(this.matrix.length * 2);
        grown.set(this.matrix);
        this.matrix = grown;
      }
      this.rowIds.push(id);
      this.rowCategory.push(0);
      this.rowOf.set(id, row);
    }
    this.matrix.set(normalise(vector), row * this._dim);
    this.rowCategory[row] = this.categoryCode(category);
  }

  remove(id: string): boolean {
    const row = this.rowOf.get(id);
    if (row === undefined) return false;
    // Move the last row into the hole so the matrix stays contiguous.
    const last = this.rowIds.length - 1;
    if (row !== last) {
      const lastId = this.rowIds[last]!;
      this.matrix.copyWithin(row * this._dim, last * this._dim, (last + 1) * this._dim);
      this.rowIds[row] = lastId;
      this.rowCategory[row] = this.rowCategory[last]!;
      this.rowOf.set(lastId, row);
    }
    this.rowIds.pop();
    this.rowCategory.pop();
    this.rowOf.delete(id);
    return true;
  }

  has(id: string): boolean {
    return this.rowOf.has(id);
  }

  vector(id: string): Float32Array | null {
    const row = this.rowOf.get(id);
    return row === undefined ? null : this.matrix.slice(row * this._dim, (row + 1) * this._dim);
  }

  category(id: string): string | null {
    const row = this.rowOf.get(id);
    return row === undefined ? null : this.categoryNames[this.rowCategory[row]!]!;
  }

  /**
   * Cosine of a stored row with an already normalised query, or null when the row is absent; the same
   * sum as search() makes, so a re-scored candidate gets the very score an exact scan gives it.
   */
  similarity(id: string, q: Float32Array): number | null {
    const row = this.rowOf.get(id);
    return row === undefined ? null : this.dot(row, q);
  }

  private dot(row: number, q: Float32Array): number {
    return dotAt(this.matrix, row * this._dim, q, this._dim);
  }


  ids(): IterableIterator<string> {
    return this.rowIds.values();
  }

  search(query: Float32Array, opts: SearchOptions): Neighbour[] {
    if (this.size === 0) return [];
    if (query.length !== this._dim) {
      throw new Error(`The query embedding is ${query.length}-wide but the index holds ${this._dim}-wide ones; the query and the index come from different models.`);
    }
    const q = normalise(query);
    const wanted = opts.category === undefined ? -1 : (this.categoryCodes.get(opts.category) ?? -2);
    if (wanted === -2) return [];
    const skip = opts.excludeId === undefined ? -1 : (this.rowOf.get(opts.excludeId) ?? -1);
    const bonus = new Float32Array(this.categoryNames.length);
    if (opts.prior) this.categoryNames.forEach((name, code) => (bonus[code] = opts.prior![name] ?? 0));
    const top = new TopK(opts.k);
    const cats = this.rowCategory;
    for (let row = 0, n = this.rowIds.length; row < n; row++) {
      if (row === skip || (wanted >= 0 && cats[row] !== wanted)) continue;
      top.push(row, this.dot(row, q) + bonus[cats[row]!]!);
    }
    return top.ids.map((row, i) => {
      const score = top.scores[i]!;
      return { id: this.rowIds[row]!, score, similarity: score - bonus[cats[row]!]! };
    });
  }
}
