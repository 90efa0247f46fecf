// The BERT text encoder: the only module that imports @huggingface/transformers. It loads tokenizer and
// ONNX weights from a local folder only (DESIGN.md section 4: nothing is downloaded at run time) and
// turns texts into one mean-pooled vector each (see pooling.ts for why the mean and not the L x H matrix).
import path from 'node:path';
import { AutoModel, AutoTokenizer, env, type PreTrainedModel, type PreTrainedTokenizer, type Tensor } from '@huggingface/transformers';
import { ModelError, silentLogger, type ModelLogger } from '../registry/errors.js';
import { recordProvider, shortReason, type ExecutionProvider } from '../runtime/providers.js';
import { checkBertFolder, readBertConfig } from './folder.js';
import { meanPool } from './pooling.js';

export interface BertEncoderOptions {
  /** Folder in the transformers.js layout (config.json, tokenizer*.json, onnx/model.onnx). */
  modelDir: string;
  /** Tokens per text after truncation (research project: 20; config TEXT_MAX_TOKENS). */
  maxTokens?: number;
  pooling?: 'mean';
  /** Texts per model call inside encode() (default 64). */
  batchSize?: number;
  /** Execution providers in order of preference (default ['cpu']). */
  providers?: ExecutionProvider[];
  intraOpThreads?: number;
  logger?: ModelLogger;
  /** Label for logs and providerInfo(); defaults to the folder name. */
  label?: string;
}

export interface BertEncoder {
  readonly dim: number;
  readonly maxTokens: number;
  readonly provider: ExecutionProvider;
  readonly modelDir: string;
  /** Model input names as the ONNX session reports them (for manifest checks). */
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** One Float32Array(dim) per text, in order. */
  encode(texts: string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** Any attempt to reach the network from transformers.js fails loudly instead of downloading. */
const blockedFetch = (input: string | URL): Promise<never> =>
  Promise.reject(
    new ModelError(
      'model-folder-invalid',
      `transformers.js tried to fetch ${String(input)}, but network access is disabled; the model folder is incomplete. Run \`npm run cli -- models pull\` on a machine with hub access.`,
    ),
  );

function configureOffline(parentDir: string): void {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false; // never write a cache next to node_modules
  env.useBrowserCache = false;
  env.localModelPath = parentDir.endsWith(path.sep) ? parentDir : parentDir + path.sep;
  env.fetch = blockedFetch;
}

export async function createBertEncoder(options: BertEncoderOptions): Promise<BertEncoder> {
  const modelDir = path.resolve(options.modelDir);
  const maxTokens = options.maxTokens ?? 20;
  const batchSize = options.batchSize ?? 64;
  const providers = [...new Set(options.providers ?? ['cpu'])] as ExecutionProvider[];
  const logger = options.logger ?? silentLogger;
  const label = options.label ?? path.basename(modelDir);
  if ((options.pooling ?? 'mean') !== 'mean') throw new ModelError('model-folder-invalid', `Pooling "${options.pooling}" is not supported; use "mean".`);
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError(`maxTokens must be a positive integer (got ${maxTokens}); check TEXT_MAX_TOKENS.`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer (got ${batchSize}).`);

  await checkBertFolder(modelDir);
  const config = await readBertConfig(modelDir);
  if (config.maxPositions !== null && maxTokens > config.maxPositions) {
    throw new RangeError(`maxTokens ${maxTokens} exceeds the model's ${config.maxPositions} positions (${modelDir}/config.json); lower TEXT_MAX_TOKENS.`);
  }

  // env is process-global; it is set right before each load, and loads only read it while loading.
  configureOffline(path.dirname(modelDir));
  const id = path.basename(modelDir);
  const tokenizer: PreTrainedTokenizer = await AutoTokenizer.from_pretrained(id, { local_files_only: true });
  let model: PreTrainedModel | null = null;
  let provider: ExecutionProvider | null = null;
  const failures: string[] = [];
  for (const p of providers) {
    try {
      model = await AutoModel.from_pretrained(id, {
        local_files_only: true,
        dtype: 'fp32',
        device: p,
        ...(options.intraOpThreads !== undefined ? { session_options: { intraOpNumThreads: options.intraOpThreads } } : {}),
      });
      provider = p;
      break;
    } catch (err) {
      if (p === 'cpu') throw new ModelError('model-folder-invalid', `Could not load the BERT model in ${modelDir}: ${shortReason(err)}. Restore the folder (\`npm run cli -- models pull\`).`, { cause: err });
      failures.push(`${p} failed: ${shortReason(err)}`);
      logger.warn({ model: label, provider: p, err: shortReason(err) }, `The ${p} execution provider is unavailable for ${label}; trying the next configured provider.`);
    }
  }
  if (!model || !provider) {
    throw new ModelError('provider-unavailable', `None of the configured execution providers (${providers.join(', ')}) could run ${label}: ${failures.join('; ')}. Add cpu as a fallback (ORT_PROVIDERS=cuda,cpu).`);
  }
  const fallbackReason = failures.length > 0 ? failures.join('; ') : null;
  const release = recordProvider(label, provider, providers, fallbackReason);
  logger.info({ model: label, provider, dim: config.hiddenSize, maxTokens, fallbackReason }, `BERT encoder ${label} runs on ${provider} (dim ${config.hiddenSize}, ${maxTokens} tokens).`);

  const session = (model.sessions as Record<string, { inputNames?: string[]; outputNames?: string[] } | undefined>)['model'];
  const loaded = model;
  let closed = false;

  async function encodeChunk(texts: string[]): Promise<Float32Array[]> {
    const inputs = tokenizer(texts, { padding: true, truncation: true, max_length: maxTokens }) as Record<string, Tensor>;
    const mask = inputs['attention_mask']!;
    const [batch, seq] = mask.dims as [number, number];
    // All texts empty after tokenisation (possible with tokenizers that add no [CLS]/[SEP]): nothing to run.
    if (seq === 0) return texts.map(() => new Float32Array(config.hiddenSize));
    const output = (await loaded(inputs)) as Record<string, Tensor>;
    const hidden = output['last_hidden_state'];
    if (!hidden) throw new ModelError('io-mismatch', `The BERT model in ${modelDir} has no last_hidden_state output; export it as a feature-extraction model.`);
    const dim = hidden.dims[2];
    if (dim !== config.hiddenSize) {
      throw new ModelError('io-mismatch', `The BERT model in ${modelDir} outputs ${dim} features but config.json says hidden_size ${config.hiddenSize}; the folder mixes two models.`);
    }
    return meanPool(hidden.data as Float32Array, mask.data as BigInt64Array, batch, seq, dim);
  }

  return {
    dim: config.hiddenSize,
    maxTokens,
    provider,
    modelDir,
    inputNames: session?.inputNames ?? [],
    outputNames: session?.outputNames ?? [],
    async encode(texts: string[]): Promise<Float32Array[]> {
      if (closed) throw new Error(`The BERT encoder ${label} is closed; create a new one.`);
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) out.push(...(await encodeChunk(texts.slice(i, i + batchSize))));
      return out;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      release();
      await loaded.dispose();
    },
  };
}
