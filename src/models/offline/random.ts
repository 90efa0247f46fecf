// Deterministic helpers shared by the offline encoders and the classifier trainer: every fit is
// reproducible from its seed, so two runs on the same data write byte-identical models.

/** mulberry32: a small, fast, seedable uniform generator in [0, 1). State is one uint32 (`state()`). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal via Box-Muller. */
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }
  state(): number {
    return this.s;
  }
  static fromState(s: number): Rng {
    return new Rng(s);
  }
}

/** 32-bit FNV-1a over UTF-16 code units: stable across platforms and trivial to re-implement elsewhere. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Deterministic split of an id into [0, 1) (FNV-1a), used for product-id train/validation splits. */
export function idFraction(id: string, salt = ''): number {
  return fnv1a(`${salt}${id}`) / 4294967296;
}
