// Manifest entry -> verified BERT encoder, mirroring runtime/open.ts for the transformers.js runtime.
import type { ManifestEntry } from '../manifest-types.js';
import { ModelError } from '../registry/errors.js';
import { checkSessionIo, verifyModelFiles } from '../registry/verify.js';
import { createBertEncoder, type BertEncoder, type BertEncoderOptions } from './encoder.js';
import { bertFolderOf } from './manifest.js';

export async function openBertEncoder(
  modelsDir: string,
  entry: ManifestEntry,
  options: Omit<BertEncoderOptions, 'modelDir' | 'label'> = {},
): Promise<BertEncoder> {
  if (entry.runtime !== 'transformers.js' || entry.role !== 'text-encoder') {
    throw new ModelError('manifest-invalid', `The model ${entry.version} is a ${entry.runtime} ${entry.role}, not a transformers.js text encoder; load it with its own loader.`);
  }
  const recorded = entry.preprocessing['maxTokens'];
  const maxTokens = options.maxTokens ?? (typeof recorded === 'number' ? recorded : undefined);
  if (typeof recorded === 'number' && maxTokens !== recorded) {
    // Embeddings made with a different token budget are not comparable with the stored ones.
    throw new ModelError(
      'manifest-invalid',
      `TEXT_MAX_TOKENS is ${maxTokens} but the text encoder ${entry.version} was registered with ${recorded} tokens; set TEXT_MAX_TOKENS=${recorded} or register the model again with the new length.`,
    );
  }
  await verifyModelFiles(modelsDir, entry);
  const encoder = await createBertEncoder({ ...options, ...(maxTokens !== undefined ? { maxTokens } : {}), modelDir: bertFolderOf(modelsDir, entry), label: entry.version });
  try {
    checkSessionIo(entry, encoder);
  } catch (err) {
    await encoder.close();
    throw err;
  }
  return encoder;
}
