// A small HNSW graph (Malkov & Yashunin, "Efficient and robust approximate nearest neighbor search
// using Hierarchical Navigable Small World graphs", 2016) over L2-normalised vectors, scored by inner
// product (= cosine). It is the approximate index for collections where one exact pass is too slow
// (see docs/api.md for the sizes); bench/api-ann.ts measures its recall against ExactIndex.
import { dotAt } from './dot.js';
import { normalise, TopK, type Neighbour } from './exact-index.js';

/** mulberry32: the level draw only needs a seeded, fast generator. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface HnswOptions {
  /** Links per node on upper layers (layer 0 keeps 2M). */
  m?: number;
  efConstruction?: number;
  /** Candidates kept while searching; higher is slower and more accurate. */
  efSearch?: number;
  seed?: number;
}

/** A binary heap of (node, score); `max` orders by the highest score first. */
class Heap {
  private nodes: number[] = [];
  private scores: number[] = [];
  constructor(private readonly max: boolean) {}
  get size(): number {
    return this.nodes.length;
  }
  topScore(): number {
    return this.scores[0]!;
  }
  topNode(): number {
    return this.nodes[0]!;
  }
  private better(a: number, b: number): boolean {
    return this.max ? this.scores[a]! > this.scores[b]! : this.scores[a]! < this.scores[b]!;
  }
  private swap(a: number, b: number): void {
    [this.nodes[a], this.nodes[b]] = [this.nodes[b]!, this.nodes[a]!];
    [this.scores[a], this.scores[b]] = [this.scores[b]!, this.scores[a]!];
  }
  push(node: number, score: number): void {
    this.nodes.push(node);
    this.scores.push(score);
    let i = this.nodes.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.better(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }
  pop(): void {
    const last = this.nodes.length - 1;
    this.swap(0, last);
    this.nodes.pop();
    this.scores.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < this.nodes.length && this.better(l, best)) best = l;
      if (r < this.nodes.length && this.better(r, best)) best = r;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }
  drain(): { node: number; score: number }[] {
    return this.nodes.map((node, i) => ({ node, score: this.scores[i]! }));
  }
}

export class HnswIndex {
  private readonly m: number;
  private readonly efConstruction: number;
  efSearch: number;
  private readonly levelMult: number;
  private readonly random: () => number;
  private vectors: Float32Array;
  private readonly dim: number;
  private readonly ids: string[] = [];
  /** The latest node of each id (add() of a known id links a new node; searches may return both). */
  private readonly nodeOf = new Map<string, number>();
  /** links[node][level] = neighbour nodes. */
  private readonly links: number[][][] = [];
  private entry = -1;
  private topLevel = -1;
  private visited = new Uint32Array(1024);
  private visitMark = 0;

  constructor(dim: number, opts: HnswOptions = {}) {
    this.dim = dim;
    this.m = opts.m ?? 16;
    this.efConstruction = opts.efConstruction ?? 100;
    this.efSearch = opts.efSearch ?? 64;
    this.levelMult = 1 / Math.log(this.m);
    this.random = seeded(opts.seed ?? 1);
    this.vectors = new Float32Array(dim * 1024);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Ids with a node in the graph (their latest node each). */
  nodeIds(): IterableIterator<string> {
    return this.nodeOf.keys();
  }

  /** Cosine of an id's (latest) node with a normalised vector, or null when the id has no node. */
  similarityOf(id: string, q: Float32Array): number | null {
    const node = this.nodeOf.get(id);
    return node === undefined ? null : this.score(node, q);
  }

  /** Inner product of a stored node with q; building the graph is almost all calls to this. */
  private score(node: number, q: Float32Array): number {
    return dotAt(this.vectors, node * this.dim, q, this.dim);
  }

  private nextMark(): number {
    if (this.visited.length < this.ids.length) this.visited = new Uint32Array(this.ids.length * 2);
    this.visitMark += 1;
    if (this.visitMark === 0xffffffff) {
      this.visited.fill(0);
      this.visitMark = 1;
    }
    return this.visitMark;
  }

  /** Best-first search of one layer from the entry points; returns up to ef nodes (min-heap). */
  private searchLayer(q: Float32Array, entries: number[], ef: number, level: number): Heap {
    const mark = this.nextMark();
    const candidates = new Heap(true);
    const found = new Heap(false);
    for (const e of entries) {
      const s = this.score(e, q);
      this.visited[e] = mark;
      candidates.push(e, s);
      found.push(e, s);
    }
    while (candidates.size > 0) {
      const c = candidates.topNode();
      const cs = candidates.topScore();
      candidates.pop();
      if (found.size >= ef && cs < found.topScore()) break;
      for (const n of this.links[c]![level] ?? []) {
        if (this.visited[n] === mark) continue;
        this.visited[n] = mark;
        const s = this.score(n, q);
        if (found.size < ef || s > found.topScore()) {
          candidates.push(n, s);
          found.push(n, s);
          if (found.size > ef) found.pop();
        }
      }
    }
    return found;
  }

  /** The paper's neighbour-selection heuristic: keep a candidate only if it is closer to q than to any kept one. */
  private selectNeighbours(candidates: { node: number; score: number }[], max: number): number[] {
    const sorted = candidates.sort((a, b) => b.score - a.score);
    const kept: number[] = [];
    for (const c of sorted) {
      if (kept.length >= max) break;
      const cv = this.vectors.subarray(c.node * this.dim, (c.node + 1) * this.dim);
      if (kept.every((k) => this.score(k, cv) < c.score)) kept.push(c.node);
    }
    // Top up with the closest remaining ones so sparse regions stay connected.
    for (const c of sorted) {
      if (kept.length >= max) break;
      if (!kept.includes(c.node)) kept.push(c.node);
    }
    return kept;
  }

  add(id: string, vector: Float32Array): void {
    if (vector.length !== this.dim) throw new Error(`HNSW index holds ${this.dim}-wide vectors; got ${vector.length} for ${id}.`);
    const node = this.ids.length;
    if ((node + 1) * this.dim > this.vectors.length) {
      const grown = new Float32Array(this.vectors.length * 2);
      grown.set(this.vectors);
      this.vectors = grown;
    }
    const q = normalise(vector);
    this.vectors.set(q, node * this.dim);
    this.ids.push(id);
    this.nodeOf.set(id, node);
    const level = Math.floor(-Math.log(1 - this.random()) * this.levelMult);
    this.links.push(Array.from({ length: level + 1 }, () => []));
    if (this.entry < 0) {
      this.entry = node;
      this.topLevel = level;
      return;
    }
    let entries = [this.entry];
    for (let l = this.topLevel; l > level; l--) entries = [this.searchLayer(q, entries, 1, l).drain().sort((a, b) => b.score - a.score)[0]!.node];
    for (let l = Math.min(level, this.topLevel); l >= 0; l--) {
      const found = this.searchLayer(q, entries, this.efConstruction, l).drain();
      const max = l === 0 ? 2 * this.m : this.m;
      const chosen = this.selectNeighbours(found, max);
      this.links[node]![l] = chosen;
      for (const n of chosen) {
        const list = this.links[n]![l]!;
        list.push(node);
        if (list.length > max) {
          const nv = this.vectors.subarray(n * this.dim, (n + 1) * this.dim);
          this.links[n]![l] = this.selectNeighbours(list.map((x) => ({ node: x, score: this.score(x, nv) })), max);
        }
      }
      entries = found.map((f) => f.node);
    }
    if (level > this.topLevel) {
      this.topLevel = level;
      this.entry = node;
    }
  }

  search(query: Float32Array, k: number, ef = this.efSearch): Neighbour[] {
    if (this.entry < 0) return [];
    const q = normalise(query);
    let entries = [this.entry];
    for (let l = this.topLevel; l > 0; l--) entries = [this.searchLayer(q, entries, 1, l).drain().sort((a, b) => b.score - a.score)[0]!.node];
    const top = new TopK(k);
    for (const f of this.searchLayer(q, entries, Math.max(ef, k), 0).drain()) top.push(f.node, f.score);
    return top.ids.map((node, i) => ({ id: this.ids[node]!, score: top.scores[i]!, similarity: top.scores[i]! }));
  }
}
