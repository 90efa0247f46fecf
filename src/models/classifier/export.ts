// ONNX export of the trained classifier. Inputs: image [batch, imageDim] (mean of the listing's photo
// embeddings; zeros when it has none), text [batch, textDim]. Outputs: probs_combined, probs_text,
// probs_image [batch, K] and embedding [batch, 2*hidden] (the fused ReLU features, for similarity).
import path from 'node:path';
import type { ManifestEntry } from '../manifest-types.js';
import { GraphBuilder } from '../onnx-writer/graph-builder.js';
import { writeModelFile } from '../offline/manifest-files.js';
import { memberModels, type ClassifierModel } from './mlp.js';

export const CLASSIFIER_OUTPUTS = ['probs_combined', 'probs_text', 'probs_image', 'embedding'] as const;

export function classifierOnnx(m: ClassifierModel): Uint8Array {
  const { imageDim: Di, textDim: Dt, hidden: H, classes: K } = m.shape;
  const g = new GraphBuilder('combined_classifier');
  const cols = m.shape.imageColumns;
  g.input('image', 'float32', ['batch', cols ? m.shape.imageInputDim! : Di]);
  // The image branch may read only some columns of the image embedding (e.g. the encoder's probe part).
  const image = cols ? g.op('Slice', ['image', g.init('cs', [1], [cols[0]]), g.init('ce', [1], [cols[1]]), g.init('cax', [1], [1])]) : 'image';
  g.input('text', 'float32', ['batch', Dt]);
  const heads: Record<'probs_combined' | 'probs_text' | 'probs_image', string[]> = { probs_combined: [], probs_text: [], probs_image: [] };
  memberModels(m).forEach(({ params: p }, i) => {
    const branch = (x: string, mean: Float32Array, std: Float32Array, W: Float32Array, b: Float32Array, n: number): string => {
      const xs = g.op('Div', [g.op('Sub', [x, g.init('mean', [n], mean)]), g.init('std', [n], std)]);
      return g.op('Relu', [g.op('Gemm', [xs, g.init('W', [n, H], W), g.init('b', [H], b)])]);
    };
    const hi = branch(image, p.imgMean, p.imgStd, p.Wi, p.bi, Di);
    const ht = branch('text', p.txtMean, p.txtStd, p.Wt, p.bt, Dt);
    // The fused features for similar-listing search are the first member's.
    const cat = g.op('Concat', [hi, ht], { axis: 1 }, i === 0 ? 'embedding' : undefined);
    const head = (x: string, W: Float32Array, b: Float32Array, n: number): string =>
      g.op('Softmax', [g.op('Gemm', [x, g.init('Wh', [n, K], W), g.init('bh', [K], b)])], { axis: -1 });
    heads.probs_combined.push(head(cat, p.Wc, p.bc, 2 * H));
    heads.probs_text.push(head(ht, p.Wth, p.bth, H));
    heads.probs_image.push(head(hi, p.Wih, p.bih, H));
  });
  for (const [out, probs] of Object.entries(heads)) {
    // One member: its softmax; an ensemble: the mean of its members' probabilities.
    if (probs.length === 1) g.op('Identity', probs, {}, out);
    else g.op('Mul', [g.op('Sum', probs), g.init('inv', [1], new Float32Array([1 / probs.length]))], {}, out);
    g.output(out, 'float32', ['batch', K]);
  }
  g.output('embedding', 'float32', ['batch', 2 * H]);
  return g.encode(m.members?.length
    ? `Combined listing classifier: ${1 + m.members.length} seed members (image branch + text branch -> 13 classes), probabilities averaged; trained in TypeScript.`
    : 'Combined listing classifier: image branch + text branch -> 13 classes, trained in TypeScript.');
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
