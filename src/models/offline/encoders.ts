// Inference-side offline encoders: preprocessing in TypeScript (described by the manifest entry's
// `preprocessing`), numeric part in ONNX, opened through the runtime module so the file's sha256 and
// input/output names are checked and the configured execution providers (with CPU fallback) apply.
import type { ManifestEntry } from '../manifest-types.js';
import { silentLogger, type ModelLogger } from '../registry/errors.js';
import { openModelSession } from '../runtime/open.js';
import type { ExecutionProvider } from '../runtime/providers.js';
import { toChw, type ImageFeatureParams } from './image-model.js';
import { bytesSession, rows, runOutput, type PlainFeeds, type Runner } from './session.js';
import { padBatch, TEXT_VIEWS, type SparseRow, type TextFeatureParams } from './text-features.js';

export interface EncoderOpenOptions {
  /** Execution providers in order of preference (config ORT_PROVIDERS); default ['cpu']. */
  providers?: ExecutionProvider[];
  logger?: ModelLogger;
  intraOpThreads?: number;
}

async function open(entry: ManifestEntry, modelsDir: string, o: EncoderOpenOptions): Promise<Runner> {
  return openModelSession(modelsDir, entry, {
    providers: o.providers ?? ['cpu'], logger: o.logger ?? silentLogger,
    ...(o.intraOpThreads !== undefined ? { intraOpThreads: o.intraOpThreads } : {}),
  });
}

/** What the title and location views read of a listing (Listing.name, Listing.price, Listing.location). */
export interface TitleFields { name: string; price: number | null; location?: string }

/** Views beyond the body, by input-name prefix. */
const EXTRA_VIEWS = TEXT_VIEWS.filter((v) => v.prefix !== '');

export class OfflineTextEncoder {
  private constructor(
    private readonly session: Runner, readonly params: TextFeatureParams, readonly dim: number,
    /** Input-name prefixes of the extra views the model reads ('title_', 'location_'). */
    readonly extraViews: string[],
  ) {}

  static async load(entry: ManifestEntry, modelsDir: string, options: EncoderOpenOptions = {}): Promise<OfflineTextEncoder> {
    const p = entry.preprocessing as unknown as TextFeatureParams;
    const extra = EXTRA_VIEWS.map((v) => v.prefix).filter((pre) => entry.inputs.some((i) => i.name === `${pre}ids`));
    return new OfflineTextEncoder(await open(entry, modelsDir, options), p, entry.embeddingDim ?? 13, extra);
  }

  /** An unverified in-memory graph (tests, experiments). */
  static async fromBytes(bytes: Uint8Array, params: TextFeatureParams, dim: number, extraViews: string[] = []): Promise<OfflineTextEncoder> {
    return new OfflineTextEncoder(await bytesSession(bytes), params, dim, extraViews);
  }

  /** True when the model reads the title view (inputs title_ids / title_tf). */
  get titleView(): boolean {
    return this.extraViews.includes('title_');
  }

  /** The ONNX inputs for a batch of raw or cleaned texts (and, for the extra views, names, prices, locations). */
  preprocess(texts: string[], fields?: (TitleFields | undefined)[]): PlainFeeds {
    const feeds: PlainFeeds = {};
    const put = (pre: string, rs: SparseRow[]): void => {
      const b = padBatch(rs);
      const dims = [rs.length, b.width];
      feeds[`${pre}ids`] = { type: 'int64', data: b.ids, dims };
      feeds[`${pre}tf`] = { type: 'float32', data: b.tf, dims };
    };
    const listings = texts.map((modelText, i) => ({ ...fields?.[i], modelText }));
    for (const v of TEXT_VIEWS) {
      if (v.prefix === '' || this.extraViews.includes(v.prefix)) put(v.prefix, listings.map((l) => v.row(l, this.params)));
    }
    return feeds;
  }

  /**
   * texts: Listing.modelText. fields (same order): Listing.name, Listing.price and Listing.location, read
   * by the extra views; without them a listing is encoded as if it had none, which costs accuracy.
   */
  async encode(texts: string[], fields?: (TitleFields | undefined)[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    if (fields && fields.length !== texts.length) throw new Error(`encode got ${texts.length} texts but ${fields.length} title fields; pass one { name, price, location } per text.`);
    const out = await runOutput(this.session, this.preprocess(texts, fields), 'embedding');
    return rows(out.data, texts.length);
  }

  /** The execution provider the session runs on. */
  get provider(): string {
    return this.session.provider ?? 'cpu';
  }

  close(): Promise<void> {
    return this.session.close();
  }
}

export class OfflineImageEncoder {
  private constructor(private readonly session: Runner, readonly params: ImageFeatureParams, readonly dim: number) {}

  static async load(entry: ManifestEntry, modelsDir: string, options: EncoderOpenOptions = {}): Promise<OfflineImageEncoder> {
    const p = entry.preprocessing as unknown as ImageFeatureParams;
    return new OfflineImageEncoder(await open(entry, modelsDir, options), p, entry.embeddingDim ?? 0);
  }

  /** An unverified in-memory graph (tests, experiments). */
  static async fromBytes(bytes: Uint8Array, params: ImageFeatureParams, dim: number): Promise<OfflineImageEncoder> {
    return new OfflineImageEncoder(await bytesSession(bytes), params, dim);
  }

  /** The execution provider the session runs on. */
  get provider(): string {
    return this.session.provider ?? 'cpu';
  }

  /** Input photos: HWC RGB at params.size x params.size (uint8, or float in [0,1]), e.g. thumbnailRgb(bytes, size). */
  async encode(images: (Uint8Array | Float32Array)[]): Promise<Float32Array[]> {
    if (images.length === 0) return [];
    const S = this.params.size;
    const x = new Float32Array(images.length * 3 * S * S);
    images.forEach((img, i) => x.set(toChw(img, S), i * 3 * S * S));
    const out = await runOutput(this.session, { image: { type: 'float32', data: x, dims: [images.length, 3, S, S] } }, 'embedding');
    return rows(out.data, images.length);
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
