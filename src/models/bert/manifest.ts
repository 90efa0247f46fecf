// Manifest entries for BERT folders (pulled bert-base-uncased, or any local transformers.js export).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ManifestEntry } from '../manifest-types.js';
import { ModelError, silentLogger } from '../registry/errors.js';
import { contentVersion, describeFile } from '../registry/hash.js';
import { describeSessionIo, createSession } from '../runtime/session.js';
import { BERT_FILES, checkBertFolder, readBertConfig } from './folder.js';

export interface BertEntryOptions {
  /** Tokens per text the encoder will use; recorded because embeddings depend on it (default 20). */
  maxTokens?: number;
  /** Defaults to "<name>@<12 hex of the files' combined sha256>", so re-registering the same files is idempotent. */
  version?: string;
  notes?: Record<string, unknown>;
}

/**
 * Builds the text-encoder entry for a BERT folder under modelsDir: its files with size and sha256, the
 * ONNX input/output specs read from the model itself, and the preprocessing the encoder applies.
 * `folder` is absolute or relative to modelsDir.
 */
export async function bertManifestEntry(
  modelsDir: string,
  folder: string,
  name: string,
  options: BertEntryOptions = {},
): Promise<ManifestEntry> {
  const dir = path.resolve(modelsDir, folder);
  await checkBertFolder(dir);
  const config = await readBertConfig(dir);
  const files = await Promise.all(BERT_FILES.map((f) => describeFile(modelsDir, path.join(dir, f))));
  const model = await createSession(path.join(dir, 'onnx', 'model.onnx'), { providers: ['cpu'], intraOpThreads: 1, logger: silentLogger, label: `${name} (inspect)` });
  const io = describeSessionIo(model.session);
  await model.close();
  const tokenizerConfig = JSON.parse(await readFile(path.join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  return {
    role: 'text-encoder',
    name,
    version: options.version ?? contentVersion(name, files),
    runtime: 'transformers.js',
    files,
    inputs: io.inputs,
    outputs: io.outputs,
    preprocessing: {
      tokenizer: 'tokenizer.json',
      lowercase: tokenizerConfig['do_lower_case'] ?? null,
      maxTokens: options.maxTokens ?? 20,
      padding: 'longest-in-batch',
      truncation: true,
      pooling: 'mean over attention_mask of last_hidden_state',
    },
    embeddingDim: config.hiddenSize,
    createdAt: new Date().toISOString(),
    notes: { modelType: config.modelType, ...options.notes },
  };
}

/**
 * The folder (absolute) of a transformers.js entry: where its config.json lives. transformers.js loads
 * every BERT_FILES name from that folder, so each must be listed (and so sha256-checked) in the entry;
 * otherwise an edited or partial entry would verify and then run weights nobody checked.
 */
export function bertFolderOf(modelsDir: string, entry: ManifestEntry): string {
  const config = entry.files.find((f) => f.path === 'config.json' || f.path.endsWith('/config.json'));
  if (!config) throw new Error(`The ${entry.role} model ${entry.version} lists no config.json, so it is not a transformers.js folder; re-register it.`);
  const folder = path.dirname(path.resolve(modelsDir, config.path));
  const listed = new Set(entry.files.map((f) => path.resolve(modelsDir, f.path)));
  const unlisted = BERT_FILES.filter((f) => !listed.has(path.join(folder, f)));
  if (unlisted.length > 0) {
    throw new ModelError(
      'manifest-invalid',
      `The ${entry.role} model ${entry.version} does not list ${unlisted.join(', ')} of its folder, so those files would load unchecked; ` +
        'register the folder again so that every file has a sha256 (`models pull` does for bert-base-uncased; bertManifestEntry for a local folder).',
    );
  }
  return folder;
}
