// The combined classifier's maths in plain typed arrays: image branch -> H (dense + ReLU), text branch
// -> H, concatenated -> K logits (the research project's shape), plus a text-only and an image-only head
// on the same branches so a listing lacking photos or text is still classified. Inputs are standardised
// with statistics from the training split (kept in the model so ONNX export reproduces them).

export interface ClassifierShape {
  imageDim: number; textDim: number; hidden: number; classes: number;
  /** When set, the image input is imageInputDim wide and the image branch reads only columns [start, end). */
  imageColumns?: [number, number]; imageInputDim?: number;
}

/** The columns of a full image embedding that the image branch reads (identity when none are set). */
export function imageBranchInput(shape: ClassifierShape, image: Float32Array): Float32Array {
  const c = shape.imageColumns;
  return c && image.length === shape.imageInputDim ? image.subarray(c[0], c[1]) : image;
}

export interface ClassifierParams {
  imgMean: Float32Array; imgStd: Float32Array; txtMean: Float32Array; txtStd: Float32Array;
  Wi: Float32Array; bi: Float32Array; Wt: Float32Array; bt: Float32Array;
  Wc: Float32Array; bc: Float32Array; Wth: Float32Array; bth: Float32Array; Wih: Float32Array; bih: Float32Array;
}

export const TRAINABLE = ['Wi', 'bi', 'Wt', 'bt', 'Wc', 'bc', 'Wth', 'bth', 'Wih', 'bih'] as const;
export type Trainable = (typeof TRAINABLE)[number];

export interface ClassifierModel {
  shape: ClassifierShape;
  params: ClassifierParams;
  /**
   * Further members of a seed ensemble (same shape, trained from other seeds): each head's probabilities
   * are the mean over `params` and these; the fused embedding stays the first member's.
   */
  members?: ClassifierParams[];
}

/** The ensemble's members as single models, the first one first (a plain model is its own only member). */
export const memberModels = (m: ClassifierModel): ClassifierModel[] =>
  [{ shape: m.shape, params: m.params }, ...(m.members ?? []).map((params) => ({ shape: m.shape, params }))];

/** He-initialised weights, zero biases, identity standardisation. */
export function initParams(s: ClassifierShape, normal: () => number): ClassifierParams {
  const he = (fanIn: number, n: number) => Float32Array.from({ length: n }, () => normal() * Math.sqrt(2 / fanIn));
  const H = s.hidden, K = s.classes;
  return {
    imgMean: new Float32Array(s.imageDim), imgStd: new Float32Array(s.imageDim).fill(1),
    txtMean: new Float32Array(s.textDim), txtStd: new Float32Array(s.textDim).fill(1),
    Wi: he(s.imageDim, s.imageDim * H), bi: new Float32Array(H), Wt: he(s.textDim, s.textDim * H), bt: new Float32Array(H),
    Wc: he(2 * H, 2 * H * K).map((x) => x / 2), bc: new Float32Array(K),
    Wth: he(H, H * K).map((x) => x / 2), bth: new Float32Array(K), Wih: he(H, H * K).map((x) => x / 2), bih: new Float32Array(K),
  };
}

export interface Sample { text: Float32Array | null; image: Float32Array | null; label: number }

/** Per-sample forward state kept for backward. */
export interface Forward {
  xi: Float32Array | null; xt: Float32Array | null; hi: Float32Array; ht: Float32Array;
  combined: Float32Array | null; textLogits: Float32Array | null; imageLogits: Float32Array | null;
}

function dense(x: Float32Array, W: Float32Array, b: Float32Array, nOut: number, out: Float32Array, offset = 0): void {
  for (let o = 0; o < nOut; o++) out[offset + o] = b[o]!;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v === 0) continue;
    const row = i * nOut;
    for (let o = 0; o < nOut; o++) out[offset + o]! += v * W[row + o]!;
  }
}

function standardise(x: Float32Array, mean: Float32Array, std: Float32Array): Float32Array {
  return Float32Array.from(x, (v, i) => (v - mean[i]!) / std[i]!);
}

/** dropMask (training only): per-unit multipliers for [hi, ht] (0 or 1/(1-p)). */
export function forward(m: ClassifierModel, s: Sample, dropMask?: Float32Array): Forward {
  const { hidden: H, classes: K } = m.shape;
  const p = m.params;
  const hi = new Float32Array(H), ht = new Float32Array(H);
  const xi = s.image ? standardise(imageBranchInput(m.shape, s.image), p.imgMean, p.imgStd) : null;
  const xt = s.text ? standardise(s.text, p.txtMean, p.txtStd) : null;
  if (xi) { dense(xi, p.Wi, p.bi, H, hi); for (let h = 0; h < H; h++) hi[h] = Math.max(0, hi[h]!) * (dropMask ? dropMask[h]! : 1); }
  if (xt) { dense(xt, p.Wt, p.bt, H, ht); for (let h = 0; h < H; h++) ht[h] = Math.max(0, ht[h]!) * (dropMask ? dropMask[H + h]! : 1); }
  let combined: Float32Array | null = null, textLogits: Float32Array | null = null, imageLogits: Float32Array | null = null;
  if (xi && xt) {
    const cat = new Float32Array(2 * H); cat.set(hi); cat.set(ht, H);
    combined = new Float32Array(K); dense(cat, p.Wc, p.bc, K, combined);
  }
  if (xt) { textLogits = new Float32Array(K); dense(ht, p.Wth, p.bth, K, textLogits); }
  if (xi) { imageLogits = new Float32Array(K); dense(hi, p.Wih, p.bih, K, imageLogits); }
  return { xi, xt, hi, ht, combined, textLogits, imageLogits };
}

/** Each head's probabilities, averaged over the ensemble's members (what the exported graph outputs). */
export function predictProbs(m: ClassifierModel, s: Sample): { combined: Float32Array | null; text: Float32Array | null; image: Float32Array | null } {
  const members = memberModels(m);
  const mean = (pick: (f: Forward) => Float32Array | null, fs: Forward[]): Float32Array | null => {
    if (!pick(fs[0]!)) return null;
    const out = new Float32Array(m.shape.classes);
    for (const f of fs) softmax(pick(f)!).forEach((v, k) => (out[k]! += v / fs.length));
    return out;
  };
  const fs = members.map((mm) => forward(mm, s));
  return { combined: mean((f) => f.combined, fs), text: mean((f) => f.textLogits, fs), image: mean((f) => f.imageLogits, fs) };
}

export function softmax(z: Float32Array): Float32Array {
  let mx = -Infinity;
  for (const v of z) mx = Math.max(mx, v);
  const e = Float32Array.from(z, (v) => Math.exp(v - mx));
  let s = 0;
  for (const v of e) s += v;
  return e.map((v) => v / s);
}

export type Grads = Record<Trainable, Float32Array>;

export function zeroGrads(p: ClassifierParams): Grads {
  return Object.fromEntries(TRAINABLE.map((k) => [k, new Float32Array(p[k].length)])) as Grads;
}

/** Adds this sample's gradient (scaled by `scale`) into g and returns its summed cross-entropy over heads. */
export function backward(m: ClassifierModel, f: Forward, label: number, g: Grads, scale: number, dropMask?: Float32Array): number {
  const { hidden: H, classes: K } = m.shape;
  const p = m.params;
  const dhi = new Float32Array(H), dht = new Float32Array(H);
  let loss = 0;
  const head = (logits: Float32Array, input: Float32Array, W: Float32Array, gW: Float32Array, gb: Float32Array, dIn: (i: number, v: number) => void): void => {
    const pr = softmax(logits);
    loss += -Math.log(Math.max(pr[label]!, 1e-12));
    const d = pr.map((v, k) => (v - (k === label ? 1 : 0)) * scale);
    for (let k = 0; k < K; k++) gb[k]! += d[k]!;
    for (let i = 0; i < input.length; i++) {
      const x = input[i]!;
      let acc = 0;
      for (let k = 0; k < K; k++) { gW[i * K + k]! += x * d[k]!; acc += W[i * K + k]! * d[k]!; }
      dIn(i, acc);
    }
  };
  if (f.combined) {
    const cat = new Float32Array(2 * H); cat.set(f.hi); cat.set(f.ht, H);
    head(f.combined, cat, p.Wc, g.Wc, g.bc, (i, v) => { if (i < H) dhi[i]! += v; else dht[i - H]! += v; });
  }
  if (f.textLogits) head(f.textLogits, f.ht, p.Wth, g.Wth, g.bth, (i, v) => { dht[i]! += v; });
  if (f.imageLogits) head(f.imageLogits, f.hi, p.Wih, g.Wih, g.bih, (i, v) => { dhi[i]! += v; });
  const branch = (x: Float32Array | null, h: Float32Array, dh: Float32Array, gW: Float32Array, gb: Float32Array, off: number): void => {
    if (!x) return;
    // ReLU and dropout: h is zero where either cut the unit; the surviving path carries the mask factor.
    for (let j = 0; j < H; j++) dh[j] = h[j]! > 0 ? dh[j]! * (dropMask ? dropMask[off + j]! : 1) : 0;
    for (let j = 0; j < H; j++) gb[j]! += dh[j]!;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (v === 0) continue;
      const row = i * H;
      for (let j = 0; j < H; j++) gW[row + j]! += v * dh[j]!;
    }
  };
  branch(f.xi, f.hi, dhi, g.Wi, g.bi, 0);
  branch(f.xt, f.ht, dht, g.Wt, g.bt, H);
  return loss;
}
