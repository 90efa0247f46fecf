// The transformers.js folder layout a BERT encoder is loaded from, and its checks. Shared by the
// encoder (load) and the manifest builder (register) so both agree on what a complete folder is.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelError } from '../registry/errors.js';

/** Files transformers.js reads for a BERT feature extractor (fp32 weights). */
export const BERT_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'] as const;

export interface BertConfig {
  hiddenSize: number;
  maxPositions: number | null;
  modelType: string;
}

/** Throws a ModelError naming every missing file and how to get a complete folder. */
export async function checkBertFolder(modelDir: string): Promise<void> {
  const missing: string[] = [];
  for (const f of BERT_FILES) {
    try {
      if (!(await stat(path.join(modelDir, f))).isFile()) missing.push(f);
    } catch {
      missing.push(f);
    }
  }
  if (missing.length > 0) {
    throw new ModelError(
      'model-folder-invalid',
      `The BERT model folder ${modelDir} is ${missing.length === BERT_FILES.length ? 'missing or empty' : `missing ${missing.join(', ')}`}. ` +
        `It must hold the transformers.js layout (${BERT_FILES.join(', ')}); nothing is downloaded at run time. ` +
        'Run `npm run cli -- models pull` to fetch bert-base-uncased, or point the encoder at a complete local folder.',
    );
  }
}

export async function readBertConfig(modelDir: string): Promise<BertConfig> {
  const file = path.join(modelDir, 'config.json');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ModelError('model-folder-invalid', `Could not read ${file} (${(err as Error).message}); restore the model folder (\`npm run cli -- models pull\`).`, { cause: err });
  }
  const hidden = json['hidden_size'];
  if (typeof hidden !== 'number' || !Number.isInteger(hidden) || hidden <= 0) {
    throw new ModelError('model-folder-invalid', `${file} has no positive integer hidden_size, so it is not a BERT config; use a BERT model folder.`);
  }
  const maxPos = json['max_position_embeddings'];
  return {
    hiddenSize: hidden,
    maxPositions: typeof maxPos === 'number' ? maxPos : null,
    modelType: typeof json['model_type'] === 'string' ? json['model_type'] : 'unknown',
  };
}
