// The BERT text encoder (transformers.js, local files only) and its manifest helpers.
export { createBertEncoder } from './encoder.js';
export type { BertEncoder, BertEncoderOptions } from './encoder.js';
export { bertManifestEntry, bertFolderOf } from './manifest.js';
export type { BertEntryOptions } from './manifest.js';
export { openBertEncoder } from './open.js';
export { BERT_FILES } from './folder.js';
export { meanPool } from './pooling.js';
