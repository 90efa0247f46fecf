// What the pipeline stages need from the models, as narrow interfaces. src/models provides the real
// implementations (offline ONNX encoders, BERT, the combined classifier), each already batched, so
// the stages stay free of onnxruntime and transformers.js.

/** What a text encoder reads of a listing: the cleaned model text, plus name, price and location for encoders that use them. */
export interface TextInput {
  text: string;
  /** Display name (title); '' when unknown, e.g. a free-text query. */
  name: string;
  price: number | null;
  /** Listing.location; '' when unknown (a /predict request or a search query has none). */
  location: string;
}

export interface TextEmbedder {
  /** Model version the embeddings are stored under. */
  version: string;
  embed(input: TextInput): Promise<Float32Array>;
  close(): Promise<void>;
}

export interface ImageEmbedder {
  version: string;
  /** The execution provider the encoder runs on ('cpu', 'cuda'). */
  provider: string;
  /** Embeds one letterboxed photo (JPEG bytes as produced by the image-clean stage). */
  embed(letterboxedJpeg: Buffer): Promise<Float32Array>;
  close(): Promise<void>;
}

export type Modality = 'combined' | 'text' | 'image';

export interface Classification {
  modality: Modality;
  /** One probability per class, in class-code order. */
  probabilities: Float32Array;
  /** The fused embedding used for similar-listing ranking. */
  embedding: Float32Array;
}

export interface ListingClassifier {
  version: string;
  /** Encoder versions whose embeddings this classifier was trained on. */
  textVersion: string;
  imageVersion: string;
  /** Class names in code order. */
  classes: string[];
  /** `image` is the mean of the listing's photo embeddings; at least one input must be present. */
  classify(input: { text: Float32Array | null; image: Float32Array | null }): Promise<Classification>;
  close(): Promise<void>;
}
