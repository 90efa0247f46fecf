// The text encoder's preprocessing, done in TypeScript and described in the manifest: clean the text,
// emit word 1..n-grams and character n-grams of each word, hash every gram into 2^bits buckets (FNV-1a)
// and send (bucket, 1 + ln count) pairs to the ONNX graph, which applies IDF, L2 normalisation and the
// learned projection. Keeping hashing here keeps the graph a plain Gather + MatMul.

export interface TextFeatureParams {
  /** Buckets = 2^bits. */
  bits: number;
  /** Largest word n-gram (1 = unigrams only). */
  wordNgrams: number;
  /** Character n-gram range over `<word>`; charMax 0 disables them. */
  charMin: number;
  charMax: number;
}

export const DEFAULT_TEXT_FEATURES: TextFeatureParams = { bits: 18, wordNgrams: 2, charMin: 3, charMax: 5 };

/** DESIGN.md section 3 text rule: non-word characters to spaces, lower-case, collapse, drop 1-char words. */
export function cleanModelText(s: string): string {
  return s
    .replace(/[^\p{L}\p{N}_]+/gu, ' ')
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w.length > 1)
    .join(' ');
}

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Bucket counts of one text; keys are unique bucket ids. Input is cleaned again (idempotent). */
export function textBuckets(text: string, p: TextFeatureParams): Map<number, number> {
  const mask = 2 ** p.bits - 1;
  const counts = new Map<number, number>();
  const add = (gram: string): void => {
    const k = fnv(gram) & mask;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  };
  const words = cleanModelText(text).split(' ').filter(Boolean);
  for (let n = 1; n <= p.wordNgrams; n++) {
    for (let i = 0; i + n <= words.length; i++) add(`w${n}:${words.slice(i, i + n).join(' ')}`);
  }
  if (p.charMax > 0) {
    for (const w of words) {
      const s = `<${w}>`;
      for (let n = p.charMin; n <= p.charMax; n++) for (let i = 0; i + n <= s.length; i++) add(`c:${s.slice(i, i + n)}`);
    }
  }
  return counts;
}

/** Sparse row: bucket ids and sublinear term weights (1 + ln count). */
export interface SparseRow {
  ids: Int32Array;
  tf: Float32Array;
}

export function sparseRow(text: string, p: TextFeatureParams): SparseRow {
  return toSparse(textBuckets(text, p));
}

/**
 * The title view: the listing name's grams plus price tokens (log2 price buckets at three widths, or
 * "p:none" when the price is missing). The name and price are part of the listing's text fields.
 */
export function titleRow(name: string, price: number | null, p: TextFeatureParams): SparseRow {
  const m = textBuckets(name, p);
  const mask = 2 ** p.bits - 1;
  const add = (g: string): void => {
    const k = fnv(g) & mask;
    m.set(k, (m.get(k) ?? 0) + 1);
  };
  if (price === null || !Number.isFinite(price) || price < 0) add('p:none');
  else {
    const b = Math.floor(Math.log2(1 + price) * 2);
    add(`p:${b}`); add(`p:${b >> 1}h`); add(`p:${b >> 2}q`);
  }
  return toSparse(m);
}

/**
 * The location view: the whole place as one token ("leeds_west_yorkshire") plus its words, no character
 * grams. Sellers list from where they are, and shops list many items of one kind: across 5-fold
 * cross-validation this view adds about a point to the text encoder (npm run bench:text).
 */
export function locationRow(location: string, p: TextFeatureParams): SparseRow {
  const place = cleanModelText(location).replace(/ /g, '_');
  return sparseRow(place ? `place_${place} ${location}` : '', { ...p, charMax: 0 });
}

function toSparse(m: Map<number, number>): SparseRow {
  const ids = new Int32Array(m.size);
  const tf = new Float32Array(m.size);
  let j = 0;
  for (const [k, c] of m) {
    ids[j] = k;
    tf[j] = 1 + Math.log(c);
    j++;
  }
  return { ids, tf };
}

/** Pads a batch of rows to its longest row (at least 1) as the ONNX inputs `ids` (int64) and `tf` (float32). */
export function padBatch(rows: SparseRow[]): { ids: BigInt64Array; tf: Float32Array; width: number } {
  const width = Math.max(1, ...rows.map((r) => r.ids.length));
  const ids = new BigInt64Array(rows.length * width);
  const tf = new Float32Array(rows.length * width);
  rows.forEach((r, i) => {
    for (let j = 0; j < r.ids.length; j++) {
      ids[i * width + j] = BigInt(r.ids[j]!);
      tf[i * width + j] = r.tf[j]!;
    }
  });
  return { ids, tf, width };
}

/** What the text views read of a listing: Listing.modelText, and Listing.name, price and location. */
export interface ListingTextFields {
  modelText: string;
  name?: string;
  price?: number | null;
  location?: string;
}

export interface TextView {
  name: 'body' | 'title' | 'location';
  /** Prefix of the view's ONNX inputs (<prefix>ids, <prefix>tf). */
  prefix: string;
  describe: string;
  row: (l: ListingTextFields, p: TextFeatureParams) => SparseRow;
}

/**
 * The text encoder's views in ONNX input order: the one table fitting (fit.ts) and encoding
 * (encoders.ts) both read, so training and serving cannot build a view differently.
 */
export const TEXT_VIEWS: readonly TextView[] = [
  { name: 'body', prefix: '', describe: 'modelText', row: (l, p) => sparseRow(l.modelText, p) },
  {
    name: 'title', prefix: 'title_', describe: 'name grams + price tokens p:<floor(2*log2(1+price))>, p:<b>>1>h, p:<b>>2>q or p:none',
    row: (l, p) => titleRow(l.name ?? '', l.price ?? null, p),
  },
  { name: 'location', prefix: 'location_', describe: 'place_<location words joined by _> + location words, no char grams', row: (l, p) => locationRow(l.location ?? '', p) },
];
