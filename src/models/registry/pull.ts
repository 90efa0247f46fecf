// `models pull`: fetches the production encoders into MODELS_DIR/pulled/<name>/<content hash>/ and
// registers them (not current: an operator switches them on with `models use`). This machine has no
// route to the hub, so the network part is one small function (download.ts); everything after it is
// the code path local models take, and is tested against a loopback server.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { bertManifestEntry } from '../bert/manifest.js';
import type { ManifestEntry, ModelRole } from '../manifest-types.js';
import { downloadFile } from './download.js';
import { silentLogger, type ModelLogger } from './errors.js';
import { contentVersion, sha256File } from './hash.js';
import { exposePooledFeatures, imageBackboneEntry } from './image-backbone.js';
import { registerModel } from './manifest.js';
import { verifyModelFiles } from './verify.js';

/** Hugging Face hub; files resolve at <base>/<repo>/resolve/<revision>/<file>. Overridable for mirrors. */
export const DEFAULT_HUB_URL = 'https://huggingface.co';
export const DEFAULT_HUB_REVISION = 'main';
/** bert-base-uncased converted to ONNX in the transformers.js layout. */
export const BERT_HUB_REPO = 'Xenova/bert-base-uncased';
/** microsoft/resnet-50 (ImageNet-1k) exported to ONNX by the transformers.js maintainers; ~102 MB fp32. */
export const RESNET_HUB_REPO = 'Xenova/resnet-50';

export type PullName = 'bert-base-uncased' | 'resnet-50';

export interface PullTarget {
  name: PullName;
  role: ModelRole;
  repo: string;
  files: string[];
}

export const PULL_TARGETS: readonly PullTarget[] = [
  { name: 'bert-base-uncased', role: 'text-encoder', repo: BERT_HUB_REPO, files: ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'] },
  { name: 'resnet-50', role: 'image-encoder', repo: RESNET_HUB_REPO, files: ['preprocessor_config.json', 'onnx/model.onnx'] },
];

export function hubFileUrl(baseUrl: string, repo: string, revision: string, file: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
}

export interface PullOptions {
  /** Hub or mirror base URL (http, https or file); default DEFAULT_HUB_URL. */
  baseUrl?: string;
  revision?: string;
  /** Subset to pull; default all targets. */
  only?: PullName[];
  /** Token length recorded for the text encoder (config TEXT_MAX_TOKENS). */
  maxTokens?: number;
  stallTimeoutMs?: number;
  logger?: ModelLogger;
}

export async function pullModels(modelsDir: string, options: PullOptions = {}): Promise<ManifestEntry[]> {
  const baseUrl = options.baseUrl ?? DEFAULT_HUB_URL;
  const revision = options.revision ?? DEFAULT_HUB_REVISION;
  const logger = options.logger ?? silentLogger;
  const targets = PULL_TARGETS.filter((t) => !options.only || options.only.includes(t.name));
  const entries: ManifestEntry[] = [];
  for (const target of targets) {
    const pulledDir = path.join(modelsDir, 'pulled');
    const staging = path.join(pulledDir, `.staging-${target.name}-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const urls: string[] = [];
      for (const file of target.files) {
        const url = hubFileUrl(baseUrl, target.repo, revision, file);
        logger.info({ model: target.name, url }, `Downloading ${url}.`);
        const bytes = await downloadFile(url, path.join(staging, file), options.stallTimeoutMs !== undefined ? { stallTimeoutMs: options.stallTimeoutMs } : {});
        logger.info({ model: target.name, file, bytes }, `Downloaded ${file} (${bytes} bytes).`);
        urls.push(url);
      }
      const notes: Record<string, unknown> = { source: 'pull', hubRepo: target.repo, revision, urls, pulledAt: new Date().toISOString() };
      if (target.role === 'image-encoder') {
        // Keep only the backbone with pooled features; record which original file it came from.
        const original = path.join(staging, 'onnx', 'model.onnx');
        notes['originalOnnxSha256'] = await sha256File(original);
        await exposePooledFeatures(original, path.join(staging, 'onnx', 'features.onnx'));
        await rename(path.join(staging, 'onnx', 'features.onnx'), original);
      }
      // Name the final folder by content so a re-pull of identical files lands in the same place.
      const hashed = await Promise.all(target.files.map(async (f) => ({ path: f, sha256: await sha256File(path.join(staging, f)) })));
      const version = contentVersion(target.name, hashed);
      const finalDir = path.join(pulledDir, target.name, version.slice(version.indexOf('@') + 1));
      await placeFolder(staging, finalDir);
      const entry =
        target.role === 'text-encoder'
          ? await bertManifestEntry(modelsDir, finalDir, target.name, { ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}), notes })
          : await imageBackboneEntry(modelsDir, finalDir, target.name, (files) => contentVersion(target.name, files), { notes });
      // Verified before it is registered: a model whose files do not check out is never listed.
      await verifyModelFiles(modelsDir, entry);
      await registerModel(modelsDir, entry, { makeCurrent: false });
      logger.info({ model: target.name, version: entry.version }, `Registered ${entry.version} as a ${entry.role} (not current; switch with \`models use ${entry.role} ${entry.version}\`).`);
      entries.push(entry);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  return entries;
}

/** Moves staging to finalDir; an existing finalDir (same content hash) is replaced so a broken copy heals. */
async function placeFolder(staging: string, finalDir: string): Promise<void> {
  await mkdir(path.dirname(finalDir), { recursive: true });
  const exists = await stat(finalDir).then(
    () => true,
    () => false,
  );
  if (exists) {
    const old = `${finalDir}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
    await rename(finalDir, old);
    await rename(staging, finalDir);
    await rm(old, { recursive: true, force: true });
  } else {
    await rename(staging, finalDir);
  }
}
