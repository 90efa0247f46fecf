// The one place that turns the manifest's current models into the narrow ports the pipeline and the
// API use (src/pipeline/model-ports.ts). Text and image encoders and the classifier are each wrapped
// in a dynamic batcher so concurrent jobs share model calls.
import type { Config } from '../config.js';
import { thumbnailRgb, toModelTensor } from '../images/index.js';
import type { Logger } from '../logging.js';
import { setExecutionProvider, type Metrics } from '../metrics/registry.js';
import type { ImageEmbedder, ListingClassifier, TextEmbedder, TextInput, Modality } from '../pipeline/model-ports.js';
import { openBertEncoder } from './bert/index.js';
import type { Manifest, ManifestEntry, ModelRole } from './manifest-types.js';
import { OfflineImageEncoder, OfflineTextEncoder } from './offline/encoders.js';
import { loadManifest, ModelError, currentModel } from './registry/index.js';
import { createBatcher, openModelSession, Tensor } from './runtime/index.js';

export type ModelConfig = Pick<Config, 'MODELS_DIR' | 'ORT_PROVIDERS' | 'ORT_INTRA_OP_THREADS' | 'TEXT_MAX_TOKENS' | 'INFER_MAX_BATCH' | 'INFER_MAX_DELAY_MS'>;

function ortOptions(config: ModelConfig, log: Logger) {
  return {
    providers: config.ORT_PROVIDERS,
    logger: log,
    ...(config.ORT_INTRA_OP_THREADS > 0 ? { intraOpThreads: config.ORT_INTRA_OP_THREADS } : {}),
  };
}

/** The manifest, or null when none exists yet (a fresh machine before `setup`). */
export async function readManifest(config: Pick<Config, 'MODELS_DIR'>): Promise<Manifest | null> {
  try {
    return await loadManifest(config.MODELS_DIR);
  } catch (err) {
    if (err instanceof ModelError && err.code === 'manifest-missing') return null;
    throw err;
  }
}

/** The current entry for a role, or null when the manifest has none. */
export function currentEntry(manifest: Manifest | null, role: ModelRole): ManifestEntry | null {
  if (!manifest || manifest.current[role] === undefined) return null;
  return currentModel(manifest, role);
}

function batched<I, O>(config: ModelConfig, role: string, metrics: Metrics | undefined, run: (items: I[]) => Promise<O[]>) {
  return createBatcher<I, O>({
    maxBatchSize: config.INFER_MAX_BATCH,
    maxDelayMs: config.INFER_MAX_DELAY_MS,
    run,
    onBatch: (size, seconds) => {
      metrics?.inferenceBatchSize.observe({ role }, size);
      metrics?.inferenceSeconds.observe({ role }, seconds);
    },
  });
}

export async function openTextEmbedder(config: ModelConfig, log: Logger, metrics?: Metrics, entry?: ManifestEntry | null): Promise<TextEmbedder | null> {
  const e = entry === undefined ? currentEntry(await readManifest(config), 'text-encoder') : entry;
  if (!e) return null;
  let run: (items: TextInput[]) => Promise<Float32Array[]>;
  let close: () => Promise<void>;
  if (e.runtime === 'transformers.js') {
    // BERT reads the cleaned text only, as in the research project.
    const bert = await openBertEncoder(config.MODELS_DIR, e, { maxTokens: config.TEXT_MAX_TOKENS, ...ortOptions(config, log) });
    setExecutionProvider(metrics, 'text-encoder', bert.provider);
    run = (items) => bert.encode(items.map((i) => i.text));
    close = () => bert.close();
  } else {
    const offline = await OfflineTextEncoder.load(e, config.MODELS_DIR, ortOptions(config, log));
    setExecutionProvider(metrics, 'text-encoder', offline.provider);
    run = (items) => offline.encode(items.map((i) => i.text), items.map((i) => ({ name: i.name, price: i.price, location: i.location })));
    close = () => offline.close();
  }
  const encoder = { close };
  const batcher = batched<TextInput, Float32Array>(config, 'text-encoder', metrics, run);
  return {
    version: e.version,
    embed: (input) => batcher.submit(input),
    close: async () => {
      await batcher.close();
      await encoder.close();
    },
  };
}

export async function openImageEmbedder(config: ModelConfig, log: Logger, metrics?: Metrics, entry?: ManifestEntry | null): Promise<ImageEmbedder | null> {
  const e = entry === undefined ? currentEntry(await readManifest(config), 'image-encoder') : entry;
  if (!e) return null;
  if (!e.name.startsWith('offline-')) return openBackboneEmbedder(config, log, metrics, e);
  const encoder = await OfflineImageEncoder.load(e, config.MODELS_DIR, ortOptions(config, log));
  setExecutionProvider(metrics, 'image-encoder', encoder.provider);
  const size = Number(e.preprocessing['size'] ?? 32);
  const batcher = batched<Uint8Array, Float32Array>(config, 'image-encoder', metrics, (rgb) => encoder.encode(rgb));
  return {
    version: e.version,
    provider: encoder.provider,
    // Thumbnails come from the letterboxed photo, exactly as when the encoder was fitted.
    embed: async (jpeg) => batcher.submit(await thumbnailRgb(jpeg, size)),
    close: async () => {
      await batcher.close();
      await encoder.close();
    },
  };
}

/** A pretrained ONNX backbone (e.g. the pulled ResNet-50): DESIGN.md's 128 x 128 ImageNet-normalised input. */
async function openBackboneEmbedder(config: ModelConfig, log: Logger, metrics: Metrics | undefined, e: ManifestEntry): Promise<ImageEmbedder> {
  const model = await openModelSession(config.MODELS_DIR, e, ortOptions(config, log));
  setExecutionProvider(metrics, 'image-encoder', model.provider);
  const size = Number(e.preprocessing['size'] ?? 128);
  const input = e.inputs[0]!.name;
  const output = e.outputs[0]!.name;
  const batcher = batched<Buffer, Float32Array>(config, 'image-encoder', metrics, async (jpegs) => {
    const x = await toModelTensor(jpegs, size);
    const out = (await model.run({ [input]: new Tensor('float32', x, [jpegs.length, 3, size, size]) }))[output]!;
    const d = out.data.length / jpegs.length;
    return jpegs.map((_, i) => (out.data as Float32Array).slice(i * d, (i + 1) * d));
  });
  return {
    version: e.version,
    provider: model.provider,
    embed: (jpeg) => batcher.submit(jpeg),
    close: async () => {
      await batcher.close();
      await model.close();
    },
  };
}

interface ClassifierInput {
  text: Float32Array | null;
  image: Float32Array | null;
}

/**
 * True when no value is NaN or infinite (x - x is 0 for every finite x, NaN otherwise). A plain loop:
 * this runs per request on vectors of thousands of values, where `every(Number.isFinite)` cost about
 * 28 us per 3,149 values, more than the batched model run itself.
 */
function allFinite(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x - x !== 0) return false;
  }
  return true;
}

/**
 * Why an input does not fit the classifier's declared widths (null when it fits). Only the image
 * columns the classifier reads (`imageColumns`, default all) must be finite: the rest never reach it.
 */
export function wrongInput(input: ClassifierInput, textDim: number, imageDim: number, imageColumns: readonly [number, number] = [0, imageDim]): string | null {
  for (const [name, v, dim, used] of [['text', input.text, textDim, [0, textDim]], ['image', input.image, imageDim, imageColumns]] as const) {
    if (!v) continue;
    if (v.length !== dim) return `its ${name} embedding has ${v.length} values where the classifier expects ${dim} (embedded by a different encoder version?)`;
    if (!allFinite(v.subarray(used[0], used[1]))) return `its ${name} embedding contains NaN or infinite values`;
  }
  return null;
}

/** The [start, end) image columns a classifier entry reads (preprocessing.imageColumns), else all. */
function imageColumnsOf(e: ManifestEntry, imageDim: number): [number, number] {
  const c = e.preprocessing['imageColumns'];
  if (Array.isArray(c) && c.length === 2 && Number.isInteger(c[0]) && Number.isInteger(c[1]) && 0 <= c[0] && c[0] < c[1] && c[1] <= imageDim) {
    return [c[0] as number, c[1] as number];
  }
  return [0, imageDim];
}

export async function openClassifier(config: ModelConfig, log: Logger, metrics?: Metrics, entry?: ManifestEntry | null): Promise<ListingClassifier | null> {
  const e = entry === undefined ? currentEntry(await readManifest(config), 'classifier') : entry;
  if (!e) return null;
  const model = await openModelSession(config.MODELS_DIR, e, ortOptions(config, log));
  setExecutionProvider(metrics, 'classifier', model.provider);
  const dimOf = (name: string) => Number(e.inputs.find((i) => i.name === name)?.shape[1]);
  const imageDim = dimOf('image');
  const textDim = dimOf('text');
  const classes = (e.classes ?? []).slice().sort((a, b) => a.code - b.code).map((c) => c.name);
  const textVersion = String(e.preprocessing['textEncoder']);
  const imageVersion = String(e.preprocessing['imageEncoder']);

  const [c0, c1] = imageColumnsOf(e, imageDim);
  const run = async (items: ClassifierInput[]) => {
    const n = items.length;
    const image = new Float32Array(n * imageDim);
    const text = new Float32Array(n * textDim);
    items.forEach((it, i) => {
      // Only the columns the graph reads are copied (the offline image embedding is 3,149 wide and the
      // classifier reads its 13 probe columns); the others stay zero, which the graph never looks at.
      if (it.image) image.set(it.image.subarray(c0, c1), i * imageDim + c0);
      if (it.text) text.set(it.text, i * textDim);
    });
    const out = await model.run({ image: new Tensor('float32', image, [n, imageDim]), text: new Tensor('float32', text, [n, textDim]) });
    const k = classes.length;
    const emb = out['embedding']!;
    const embDim = emb.dims[1] as number;
    return items.map((it, i) => {
      // Missing inputs are zeros; read the head trained for what the listing actually has.
      const modality: Modality = it.text && it.image ? 'combined' : it.text ? 'text' : 'image';
      const probs = out[`probs_${modality}`]!.data as Float32Array;
      return {
        modality,
        probabilities: probs.slice(i * k, (i + 1) * k),
        embedding: (emb.data as Float32Array).slice(i * embDim, (i + 1) * embDim),
      };
    });
  };
  const batcher = batched<ClassifierInput, Awaited<ReturnType<typeof run>>[number]>(config, 'classifier', metrics, run);
  return {
    version: e.version,
    textVersion,
    imageVersion,
    classes,
    classify: (input) => {
      if (!input.text && !input.image) {
        return Promise.reject(new Error('The classifier needs a text or an image embedding; the listing has neither.'));
      }
      // Checked per request, before batching: a vector of the wrong width would otherwise spill into its
      // neighbours' rows of the batch tensor (or fail the whole batch) instead of failing alone.
      const wrong = wrongInput(input, textDim, imageDim, [c0, c1]);
      if (wrong) return Promise.reject(new Error(`Classifier ${e.version} cannot use this input: ${wrong}.`));
      return batcher.submit(input);
    },
    close: async () => {
      await batcher.close();
      await model.close();
    },
  };
}
