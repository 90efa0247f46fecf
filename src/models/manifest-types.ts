// The model manifest contract (DESIGN.md section 4): every model the pipeline runs is a set of files
// under MODELS_DIR described by one entry in MODELS_DIR/manifest.json. Loaders check the files against
// the entry (presence, sha256, shapes) before running anything, so a half-copied model fails loudly.

/** What a model does in the pipeline; one "current" entry per role. */
export type ModelRole = 'text-encoder' | 'image-encoder' | 'classifier';

/** How the model is executed. */
export type ModelRuntime = 'onnxruntime' | 'transformers.js';

export interface TensorSpec {
  name: string;
  /** 'float32' | 'int64' ...: onnxruntime tensor type names. */
  type: string;
  /** Dimensions; a string names a symbolic dimension such as "batch". */
  shape: (number | string)[];
}

export interface ManifestFile {
  /** Path relative to MODELS_DIR. */
  path: string;
  sha256: string;
  bytes: number;
}

export interface ManifestEntry {
  role: ModelRole;
  /** Stable model family name, e.g. "offline-text-hashed-ngrams" or "bert-base-uncased". */
  name: string;
  /** Unique version string; rows in Postgres are keyed by it (e.g. "offline-text@2026-11-30T01:02:03Z"). */
  version: string;
  runtime: ModelRuntime;
  files: ManifestFile[];
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Preprocessing parameters the caller must apply (tokenizer length, image size, n-gram settings ...). */
  preprocessing: Record<string, unknown>;
  /** code -> name; required for classifiers, carried by encoders trained on labels. */
  classes?: { code: number; name: string }[];
  /** Output embedding width for encoders. */
  embeddingDim?: number;
  createdAt: string;
  /** Free-form provenance: training data, metrics, command that produced it. */
  notes?: Record<string, unknown>;
}

export interface Manifest {
  schemaVersion: 1;
  /** role -> version currently served. */
  current: Partial<Record<ModelRole, string>>;
  models: ManifestEntry[];
}
