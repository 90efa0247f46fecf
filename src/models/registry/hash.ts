// Content hashing of model files. Streams the file so a 400 MB encoder never sits in memory twice.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ManifestFile } from '../manifest-types.js';

/** Lower-case hex sha256 of a file's bytes. */
export async function sha256File(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The manifest record (relative path, size, sha256) for a file that lives under modelsDir. */
export async function describeFile(modelsDir: string, absolutePath: string): Promise<ManifestFile> {
  const rel = path.relative(modelsDir, absolutePath);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new Error(`The model file ${absolutePath} is outside MODELS_DIR (${modelsDir}); move it under MODELS_DIR before registering it.`);
  }
  const [info, sha256] = await Promise.all([stat(absolutePath), sha256File(absolutePath)]);
  // Manifest paths always use forward slashes so a manifest is portable between machines.
  return { path: rel.split(path.sep).join('/'), sha256, bytes: info.size };
}

/**
 * A version string derived from file contents: "<name>@<12 hex>". Same files (by name and sha256),
 * same version, wherever the folder lives, so registering the same model twice is idempotent.
 */
export function contentVersion(name: string, files: { path: string; sha256: string }[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) h.update(`${path.basename(f.path)}:${f.sha256}\n`);
  return `${name}@${h.digest('hex').slice(0, 12)}`;
}
