// Inference-side offline encoders: preprocessing in TypeScript (described by the manifest entry's
// `preprocessing`), numeric part in ONNX.
import path from 'node:path';
import type { ManifestEntry } from '../manifest-types.js';
import { toChw, type ImageFeatureParams } from './image-model.js';
import { LocalSession, rows } from './session.js';
import { padBatch, sparseRow, type TextFeatureParams } from './text-features.js';

function filePath(entry: ManifestEntry, modelsDir: string): string {
  const f = entry.files[0];
  if (!f) throw new Error(`Manifest entry ${entry.version} lists no files; refit or repair models/manifest.json.`);
  return path.join(modelsDir, f.path);
}

export class OfflineTextEncoder {
  private constructor(private readonly session: LocalSession, readonly params: TextFeatureParams, readonly dim: number) {}

  static async load(entry: ManifestEntry, modelsDir: string): Promise<OfflineTextEncoder> {
    const p = entry.preprocessing as unknown as TextFeatureParams;
    return new OfflineTextEncoder(await LocalSession.open(filePath(entry, modelsDir)), p, entry.embeddingDim ?? 13);
  }

  static async fromBytes(bytes: Uint8Array, params: TextFeatureParams, dim: number): Promise<OfflineTextEncoder> {
    return new OfflineTextEncoder(await LocalSession.open(bytes), params, dim);
  }

  /** The ONNX inputs for a batch of raw or cleaned texts. */
  preprocess(texts: string[]): { ids: BigInt64Array; tf: Float32Array; dims: number[] } {
    const b = padBatch(texts.map((t) => sparseRow(t, this.params)));
    return { ids: b.ids, tf: b.tf, dims: [texts.length, b.width] };
  }

  async encode(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const x = this.preprocess(texts);
    const out = await this.session.run(
      { ids: { type: 'int64', data: x.ids, dims: x.dims }, tf: { type: 'float32', data: x.tf, dims: x.dims } },
      'embedding',
    );
    return rows(out.data, texts.length);
  }

  close(): Promise<void> {
    return this.session.close();
  }
}

export class OfflineImageEncoder {
  private constructor(private readonly session: LocalSession, readonly params: ImageFeatureParams, readonly dim: number) {}

  static async load(entry: ManifestEntry, modelsDir: string): Promise<OfflineImageEncoder> {
    const p = entry.preprocessing as unknown as ImageFeatureParams;
    return new OfflineImageEncoder(await LocalSession.open(filePath(entry, modelsDir)), p, entry.embeddingDim ?? 0);
  }

  static async fromBytes(bytes: Uint8Array, params: ImageFeatureParams, dim: number): Promise<OfflineImageEncoder> {
    return new OfflineImageEncoder(await LocalSession.open(bytes), params, dim);
  }

  /** Input photos: HWC RGB at params.size x params.size (uint8, or float in [0,1]), e.g. thumbnailRgb(bytes, size). */
  async encode(images: (Uint8Array | Float32Array)[]): Promise<Float32Array[]> {
    if (images.length === 0) return [];
    const S = this.params.size;
    const x = new Float32Array(images.length * 3 * S * S);
    images.forEach((img, i) => x.set(toChw(img, S), i * 3 * S * S));
    const out = await this.session.run({ image: { type: 'float32', data: x, dims: [images.length, 3, S, S] } }, 'embedding');
    return rows(out.data, images.length);
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
