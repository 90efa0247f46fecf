// The BERT text-encoder path (transformers.js, local files only) on the small marketplace BERT that
// ships in ../shared. Production uses bert-base-uncased pulled with `models pull`; the code is the same.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { bertManifestEntry, createBertEncoder, openBertEncoder, type BertEncoder } from '../src/models/bert/index.js';
import { ModelError } from '../src/models/registry/errors.js';
import { providerInfo } from '../src/models/runtime/providers.js';

const MINI_BERT = path.join(loadConfig().SHARED_DIR, 'models', 'marketplace-mini-bert');
const present = existsSync(path.join(MINI_BERT, 'onnx', 'model.onnx'));

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i += 1) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const title = present ? `BERT encoder on ${MINI_BERT}` : `BERT encoder (skipped: ${MINI_BERT} is absent; set SHARED_DIR)`;

describe.skipIf(!present)(title, () => {
  let enc: BertEncoder;
  beforeAll(async () => {
    enc = await createBertEncoder({ modelDir: MINI_BERT, maxTokens: 20, pooling: 'mean', intraOpThreads: 1 });
  });
  afterAll(async () => {
    await enc?.close();
  });

  it('returns one vector of hidden_size (192) per text, from config.json', async () => {
    expect(enc.dim).toBe(192);
    expect(enc.provider).toBe('cpu');
    expect(enc.inputNames).toEqual(expect.arrayContaining(['input_ids', 'attention_mask']));
    const out = await enc.encode(['oak dining table with four chairs', 'iphone 12 pro max 128gb', 'kids bike']);
    expect(out).toHaveLength(3);
    for (const v of out) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(192);
      expect(v.every(Number.isFinite)).toBe(true);
    }
    expect(maxAbsDiff(out[0]!, out[1]!)).toBeGreaterThan(1e-3);
    expect(await enc.encode([])).toEqual([]);
  });

  it('gives an empty text (no tokens with this tokenizer) a zero vector instead of failing the batch', async () => {
    const [empty, sofa] = await enc.encode(['', 'sofa']);
    expect(empty!.every((x) => x === 0)).toBe(true);
    expect(sofa!.some((x) => x !== 0)).toBe(true);
    const [onlyEmpty] = await enc.encode(['']);
    expect(onlyEmpty!.length).toBe(192);
  });

  it('is deterministic', async () => {
    const texts = ['leather sofa three seater', 'garden shed'];
    const [a, b] = [await enc.encode(texts), await enc.encode(texts)];
    expect(maxAbsDiff(a[0]!, b[0]!)).toBe(0);
    expect(maxAbsDiff(a[1]!, b[1]!)).toBe(0);
  });

  it('truncates at maxTokens: words beyond the limit change nothing', async () => {
    const long = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    const [a, b] = await enc.encode([long, `${long} completely different ending about cars and bikes`]);
    expect(maxAbsDiff(a!, b!)).toBe(0);
    const short = await createBertEncoder({ modelDir: MINI_BERT, maxTokens: 4, intraOpThreads: 1 });
    try {
      const [c, d] = await short.encode(['red wooden chair table for sale', 'red wooden chair table broken legs']);
      expect(maxAbsDiff(c!, d!)).toBe(0);
    } finally {
      await short.close();
    }
  });

  it('is padding invariant: a text alone and next to a longer text embed the same within 1e-4', async () => {
    const text = 'small bookcase';
    const longer = 'very large solid oak wardrobe with mirrored doors and three drawers, collection only from london';
    const [alone] = await enc.encode([text]);
    const [inBatch] = await enc.encode([text, longer]);
    expect(maxAbsDiff(alone!, inBatch!)).toBeLessThan(1e-4);
  });

  it('splits large inputs into batches and keeps the order', async () => {
    const small = await createBertEncoder({ modelDir: MINI_BERT, batchSize: 3, intraOpThreads: 1 });
    try {
      const texts = Array.from({ length: 8 }, (_, i) => `listing number ${i} table chair sofa`.slice(0, 12 + i * 2));
      const batched = await small.encode(texts);
      const single = await enc.encode(texts);
      batched.forEach((v, i) => expect(maxAbsDiff(v, single[i]!)).toBeLessThan(1e-4));
    } finally {
      await small.close();
    }
  });

  it('records its provider for the metrics gauge', () => {
    expect(providerInfo().find((p) => p.model === 'marketplace-mini-bert')).toMatchObject({ provider: 'cpu', fallbackReason: null });
  });

  it('builds a manifest entry listing the folder files with sha256 and opens through it', async () => {
    const modelsDir = await mkdtemp(path.join(tmpdir(), 'lp-bert-'));
    try {
      // A symlink keeps the shared model out of the repo while looking like a folder under MODELS_DIR.
      await mkdir(path.join(modelsDir, 'local'));
      await symlink(MINI_BERT, path.join(modelsDir, 'local', 'mini-bert'));
      const entry = await bertManifestEntry(modelsDir, 'local/mini-bert', 'marketplace-mini-bert');
      expect(entry).toMatchObject({ role: 'text-encoder', runtime: 'transformers.js', embeddingDim: 192 });
      expect(entry.version).toMatch(/^marketplace-mini-bert@[0-9a-f]{12}$/);
      expect(entry.files.map((f) => f.path)).toEqual(['local/mini-bert/config.json', 'local/mini-bert/tokenizer.json', 'local/mini-bert/tokenizer_config.json', 'local/mini-bert/onnx/model.onnx']);
      expect(entry.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256) && f.bytes > 0)).toBe(true);
      expect(entry.outputs).toEqual([{ name: 'last_hidden_state', type: 'float32', shape: ['batch_size', 'sequence_length', 192] }]);
      const opened = await openBertEncoder(modelsDir, entry, { intraOpThreads: 1 });
      const [v] = await opened.encode(['small bookcase']);
      const [w] = await enc.encode(['small bookcase']);
      expect(maxAbsDiff(v!, w!)).toBe(0);
      await opened.close();
      await expect(openBertEncoder(modelsDir, entry, { maxTokens: 32 })).rejects.toThrow(/TEXT_MAX_TOKENS is 32 but the text encoder .* was registered with 20 tokens/);
      // An entry that leaves a file of the folder out would load it unchecked: refused, naming the file.
      const partial = { ...entry, files: entry.files.filter((f) => !f.path.endsWith('/tokenizer.json')) };
      await expect(openBertEncoder(modelsDir, partial)).rejects.toThrow(/does not list tokenizer\.json of its folder/);
    } finally {
      await rm(modelsDir, { recursive: true, force: true });
    }
  });
});

describe('BERT encoder offline guarantees', () => {
  it('a missing local folder gives a clear error and attempts no download', async () => {
    const missing = path.join(tmpdir(), 'lp-no-such-bert', 'bert-base-uncased');
    const err = (await createBertEncoder({ modelDir: missing }).catch((e: unknown) => e)) as ModelError;
    expect(err).toBeInstanceOf(ModelError);
    expect(err.code).toBe('model-folder-invalid');
    expect(err.message).toMatch(/is missing or empty.*nothing is downloaded at run time.*models pull/);
  });

  it.skipIf(!present)('configures transformers.js with remote models off and a fetch that refuses', async () => {
    const { env } = await import('@huggingface/transformers');
    const enc = await createBertEncoder({ modelDir: MINI_BERT, intraOpThreads: 1 });
    await enc.close();
    expect(env.allowRemoteModels).toBe(false);
    expect(env.localModelPath).toBe(path.dirname(MINI_BERT) + path.sep);
    await expect(env.fetch('https://huggingface.co/bert-base-uncased/resolve/main/config.json')).rejects.toThrow(/network access is disabled/);
  });
});
