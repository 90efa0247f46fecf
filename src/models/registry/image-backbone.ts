// Turning a pulled image-classification ONNX export (ResNet-50: conv trunk -> GlobalAveragePool ->
// Flatten -> 1000-way Gemm) into the image *backbone* the pipeline needs: the research project froze
// ResNet-50 and trained its own head on the pooled 2048-d features, so we expose those features as the
// model's single output ("image_features") and let onnxruntime prune the ImageNet classifier.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type { ManifestEntry } from '../manifest-types.js';
import { createSession, describeSessionIo, Tensor } from '../runtime/session.js';
import { ModelError, silentLogger } from './errors.js';
import { describeFile } from './hash.js';

const { onnx } = onnxProto;
export const FEATURES_OUTPUT = 'image_features';
const FLOAT = 1; // onnx.TensorProto.DataType.FLOAT
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/** Rewrites src so its only output is the pooled (and flattened, when the export flattens) feature vector. */
export async function exposePooledFeatures(src: string, dest: string): Promise<void> {
  const model = onnx.ModelProto.decode(await readFile(src));
  const graph = model.graph;
  const nodes = graph?.node ?? [];
  const pool = [...nodes].reverse().find((n) => n.opType === 'GlobalAveragePool');
  if (!graph || !pool?.output?.[0]) {
    throw new ModelError('file-invalid', `${src} has no GlobalAveragePool node, so it is not a ResNet-style backbone; pick a ResNet ONNX export for the image encoder.`);
  }
  let features = pool.output[0];
  const flatten = nodes.find((n) => (n.input ?? []).includes(features) && (n.opType === 'Flatten' || n.opType === 'Reshape' || n.opType === 'Squeeze'));
  if (flatten?.output?.[0]) features = flatten.output[0];
  graph.node = [...nodes, onnx.NodeProto.create({ opType: 'Identity', input: [features], output: [FEATURES_OUTPUT], name: 'expose_image_features' })];
  graph.output = [onnx.ValueInfoProto.create({ name: FEATURES_OUTPUT, type: { tensorType: { elemType: FLOAT } } })];
  await writeFile(dest, onnx.ModelProto.encode(model).finish());
}

/** Feature width: from the output metadata when fixed, otherwise by running one zero image. */
async function featureDim(onnxPath: string, imageSize: number): Promise<{ io: ReturnType<typeof describeSessionIo>; dim: number; inputSize: number }> {
  const model = await createSession(onnxPath, { providers: ['cpu'], intraOpThreads: 1, logger: silentLogger, label: 'image backbone (inspect)' });
  try {
    const io = describeSessionIo(model.session);
    const input = io.inputs[0];
    if (!input || io.inputs.length !== 1 || input.shape.length !== 4) {
      throw new ModelError('file-invalid', `${onnxPath} should take one N x 3 x H x W image tensor but has inputs ${JSON.stringify(io.inputs)}; pick a ResNet ONNX export.`);
    }
    const fixed = typeof input.shape[2] === 'number' && input.shape[2] > 0 ? input.shape[2] : imageSize;
    const out = io.outputs[0]?.shape ?? [];
    const last = out.at(-1);
    if (out.length === 2 && typeof last === 'number' && last > 0) return { io, dim: last, inputSize: fixed };
    const dims = [1, 3, fixed, fixed];
    const fetches = await model.run({ [input.name]: new Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b)), dims) });
    const t = fetches[FEATURES_OUTPUT] ?? Object.values(fetches)[0];
    if (!t) throw new ModelError('file-invalid', `${onnxPath} produced no output; pick a working ResNet ONNX export.`);
    return { io, dim: t.dims.slice(1).reduce((a, b) => a * b, 1), inputSize: fixed };
  } finally {
    await model.close();
  }
}

/**
 * Image-encoder entry for a backbone folder under modelsDir holding onnx/model.onnx (already rewritten by
 * exposePooledFeatures) and optionally preprocessor_config.json (its mean/std are recorded when present).
 */
export async function imageBackboneEntry(
  modelsDir: string,
  dir: string,
  name: string,
  version: (files: { path: string; sha256: string }[]) => string,
  options: { imageSize?: number; notes?: Record<string, unknown> } = {},
): Promise<ManifestEntry> {
  const onnxPath = path.join(dir, 'onnx', 'model.onnx');
  const files = [await describeFile(modelsDir, onnxPath)];
  let mean = IMAGENET_MEAN;
  let std = IMAGENET_STD;
  try {
    const pre = JSON.parse(await readFile(path.join(dir, 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>;
    files.push(await describeFile(modelsDir, path.join(dir, 'preprocessor_config.json')));
    if (Array.isArray(pre['image_mean']) && Array.isArray(pre['image_std'])) {
      mean = pre['image_mean'] as number[];
      std = pre['image_std'] as number[];
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // 128 is the research project's model input (DESIGN.md section 3); global pooling accepts any size.
  const { io, dim, inputSize } = await featureDim(onnxPath, options.imageSize ?? 128);
  return {
    role: 'image-encoder',
    name,
    version: version(files),
    runtime: 'onnxruntime',
    files,
    inputs: io.inputs,
    outputs: io.outputs,
    preprocessing: {
      onnxFile: files[0]!.path,
      layout: 'NCHW',
      channels: 'RGB',
      size: inputSize,
      resize: 'shorter side to size, centre crop',
      scale: 1 / 255,
      mean,
      std,
      output: FEATURES_OUTPUT,
    },
    embeddingDim: dim,
    createdAt: new Date().toISOString(),
    ...(options.notes ? { notes: options.notes } : {}),
  };
}
