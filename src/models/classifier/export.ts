// ONNX export of the trained classifier. Inputs: image [batch, imageDim] (mean of the listing's photo
// embeddings; zeros when it has none), text [batch, textDim]. Outputs: probs_combined, probs_text,
// probs_image [batch, K] and embedding [batch, 2*hidden] (the fused ReLU features, for similarity).
// An all-zero input row stands for a missing modality: its branch's features are zero, as in the
// TypeScript forward pass (mlp.ts), so a text-only listing's embedding carries no invented image part.
import path from 'node:path';
import type { ManifestEntry } from '../manifest-types.js';
import { GraphBuilder } from '../onnx-writer/graph-builder.js';
import { writeModelFile } from '../offline/manifest-files.js';
import { memberModels, type ClassifierModel } from './mlp.js';

export function classifierOnnx(m: ClassifierModel): Uint8Array {
  const { imageDim: Di, textDim: Dt, hidden: H, classes: K } = m.shape;
  const g = new GraphBuilder('combined_classifier');
  const cols = m.shape.imageColumns;
  g.input('image', 'float32', ['batch', cols ? m.shape.imageInputDim! : Di]);
  // The image branch may read only some columns of the image embedding (e.g. the encoder's probe part).
  const image = cols ? g.op('Slice', ['image', g.init('cs', [1], [cols[0]]), g.init('ce', [1], [cols[1]]), g.init('cax', [1], [1])]) : 'image';
  g.input('text', 'float32', ['batch', Dt]);
  // The image mask reads the columns the branch reads (all of them without imageColumns): a present photo
  // embedding is non-zero there too, and scanning thousands of unused columns per row costs time.
  const present = { image: presentMask(g, image), text: presentMask(g, 'text') };
  const members = memberModels(m);
  if (members.length > 1) {
    if (!sharedStandardisation(members)) {
      throw new Error('The ensemble members standardise their inputs differently; train them together with trainEnsemble (one training split).');
    }
    fusedEnsemble(g, image, members, m.shape, present);
    return g.encode(`Combined listing classifier: ${members.length} seed members (image branch + text branch -> 13 classes), probabilities averaged; trained in TypeScript.`);
  }
  const p = m.params;
  const branch = (x: string, mean: Float32Array, std: Float32Array, W: Float32Array, b: Float32Array, n: number, mask: string): string => {
    const xs = g.op('Div', [g.op('Sub', [x, g.init('mean', [n], mean)]), g.init('std', [n], std)]);
    return g.op('Mul', [g.op('Relu', [g.op('Gemm', [xs, g.init('W', [n, H], W), g.init('b', [H], b)])]), mask]);
  };
  const hi = branch(image, p.imgMean, p.imgStd, p.Wi, p.bi, Di, present.image);
  const ht = branch('text', p.txtMean, p.txtStd, p.Wt, p.bt, Dt, present.text);
  const cat = g.op('Concat', [hi, ht], { axis: 1 }, 'embedding');
  const head = (x: string, W: Float32Array, b: Float32Array, n: number, out: string): void => {
    g.op('Softmax', [g.op('Gemm', [x, g.init('Wh', [n, K], W), g.init('bh', [K], b)])], { axis: -1 }, out);
    g.output(out, 'float32', ['batch', K]);
  };
  head(cat, p.Wc, p.bc, 2 * H, 'probs_combined');
  head(ht, p.Wth, p.bth, H, 'probs_text');
  head(hi, p.Wih, p.bih, H, 'probs_image');
  g.output('embedding', 'float32', ['batch', 2 * H]);
  return g.encode('Combined listing classifier: image branch + text branch -> 13 classes, trained in TypeScript.');
}

/** [batch, 1]: 1 where the input row has a non-zero value, 0 where it is all zeros (the modality is missing). */
function presentMask(g: GraphBuilder, input: string): string {
  const largest = g.op('ReduceMax', [g.op('Abs', [input])], { axes: [1], keepdims: 1 });
  return g.op('Cast', [g.op('Greater', [largest, g.init('zero', [1], new Float32Array([0]))])], { to: 1 });
}

/** True when every member standardises its inputs alike (members trained on the same split do). */
function sharedStandardisation(members: ClassifierModel[]): boolean {
  const first = members[0]!.params;
  const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i]);
  return members.every(({ params: p }) => same(p.imgMean, first.imgMean) && same(p.imgStd, first.imgStd) && same(p.txtMean, first.txtMean) && same(p.txtStd, first.txtStd));
}

/**
 * The ensemble (members of one training split, so one standardisation) as a few wide operations instead
 * of one small graph per member: both branches of all N
 * members in one Gemm each ([n, N*H]), every head as one batched MatMul over the members ([N, n, K]), then
 * softmax per member and the mean over members. Same maths as the per-member graph; far fewer nodes,
 * which is what a small MLP's time goes to.
 */
function fusedEnsemble(g: GraphBuilder, image: string, members: ClassifierModel[], shape: ClassifierModel['shape'], present: { image: string; text: string }): void {
  const { imageDim: Di, textDim: Dt, hidden: H, classes: K } = shape;
  const N = members.length;
  const P = members.map((mm) => mm.params);
  const wide = (n: number, pick: (p: ClassifierModel['params']) => Float32Array): Float32Array => {
    // [n, H] per member -> [n, N*H]: member m's columns are m*H .. (m+1)*H.
    const out = new Float32Array(n * N * H);
    P.forEach((p, m) => { const w = pick(p); for (let r = 0; r < n; r++) out.set(w.subarray(r * H, (r + 1) * H), r * N * H + m * H); });
    return out;
  };
  const bias = (pick: (p: ClassifierModel['params']) => Float32Array, width: number): Float32Array => {
    const out = new Float32Array(N * width);
    P.forEach((p, m) => out.set(pick(p), m * width));
    return out;
  };
  const branch = (x: string, mean: Float32Array, std: Float32Array, n: number, W: Float32Array, b: Float32Array, mask: string): string => {
    const xs = g.op('Div', [g.op('Sub', [x, g.init('mean', [n], mean)]), g.init('std', [n], std)]);
    return g.op('Mul', [g.op('Relu', [g.op('Gemm', [xs, g.init('W', [n, N * H], W), g.init('b', [N * H], b)])]), mask]);
  };
  const hi = branch(image, P[0]!.imgMean, P[0]!.imgStd, Di, wide(Di, (p) => p.Wi), bias((p) => p.bi, H), present.image);
  const ht = branch('text', P[0]!.txtMean, P[0]!.txtStd, Dt, wide(Dt, (p) => p.Wt), bias((p) => p.bt, H), present.text);
  // Heads as one batched MatMul over members: [N, n, in] x [N, in, K] -> [N, n, K], softmax, mean over N.
  const perMember = (x: string) => g.op('Transpose', [g.op('Reshape', [x, g.init('shape', [3], [0, N, H])])], { perm: [1, 0, 2] });
  const hiM = perMember(hi), htM = perMember(ht);
  const stack = (pick: (p: ClassifierModel['params']) => Float32Array): Float32Array => {
    const w = pick(P[0]!);
    const out = new Float32Array(N * w.length);
    P.forEach((p, m) => out.set(pick(p), m * w.length));
    return out;
  };
  const meanOfSoftmax = (x: string, rows: number, W: (p: ClassifierModel['params']) => Float32Array, b: (p: ClassifierModel['params']) => Float32Array, out: string): void => {
    const logits = g.op('Add', [g.op('MatMul', [x, g.init('Wh', [N, rows, K], stack(W))]), g.init('bh', [N, 1, K], stack(b))]);
    g.op('ReduceMean', [g.op('Softmax', [logits], { axis: -1 })], { axes: [0], keepdims: 0 }, out);
    g.output(out, 'float32', ['batch', K]);
  };
  meanOfSoftmax(g.op('Concat', [hiM, htM], { axis: 2 }), 2 * H, (p) => p.Wc, (p) => p.bc, 'probs_combined');
  meanOfSoftmax(htM, H, (p) => p.Wth, (p) => p.bth, 'probs_text');
  meanOfSoftmax(hiM, H, (p) => p.Wih, (p) => p.bih, 'probs_image');
  // The similarity embedding is the first member's fused features: its H columns of each branch.
  const first = (x: string) => g.op('Slice', [x, g.init('s0', [1], [0]), g.init('s1', [1], [H]), g.init('sax', [1], [1])]);
  g.op('Concat', [first(hi), first(ht)], { axis: 1 }, 'embedding');
  g.output('embedding', 'float32', ['batch', 2 * H]);
}

/** Writes the ONNX file and returns its manifest file record. */
export function exportClassifierOnnx(m: ClassifierModel, absPath: string, modelsDir: string): ManifestEntry['files'][number] {
  return writeModelFile(absPath, classifierOnnx(m), modelsDir);
}

export function classifierManifestEntry(m: ClassifierModel, file: ManifestEntry['files'][number], o: {
  version: string; classes: string[]; imageEncoder: string; textEncoder: string; notes?: Record<string, unknown>;
}): ManifestEntry {
  const { textDim, hidden, classes } = m.shape;
  const imageDim = m.shape.imageInputDim ?? m.shape.imageDim;
  return {
    role: 'classifier', name: 'combined-mlp', version: o.version, runtime: 'onnxruntime', files: [file],
    inputs: [{ name: 'image', type: 'float32', shape: ['batch', imageDim] }, { name: 'text', type: 'float32', shape: ['batch', textDim] }],
    outputs: [
      ...(['probs_combined', 'probs_text', 'probs_image'] as const).map((name) => ({ name, type: 'float32', shape: ['batch', classes] })),
      { name: 'embedding', type: 'float32', shape: ['batch', 2 * hidden] },
    ],
    preprocessing: { image: 'mean of the listing photo embeddings (zeros if none; then use probs_text)', text: 'text encoder embedding (zeros if none; then use probs_image)', imageEncoder: o.imageEncoder, textEncoder: o.textEncoder, ...(m.shape.imageColumns ? { imageColumns: m.shape.imageColumns } : {}) },
    classes: o.classes.map((name, code) => ({ code, name })),
    embeddingDim: 2 * hidden, createdAt: new Date().toISOString(), notes: o.notes,
  };
}

export const defaultClassifierPath = (modelsDir: string, version: string): string =>
  path.join(modelsDir, 'generated', `classifier-${version.replace(/[:@]/g, '_')}.onnx`);
