// Writes a model file and describes it for the manifest (path relative to MODELS_DIR, sha256, bytes).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ManifestFile } from '../manifest-types.js';

export function writeModelFile(absPath: string, bytes: Uint8Array, modelsDir: string): ManifestFile {
  const rel = path.relative(modelsDir, absPath);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new Error(`Model file ${absPath} is outside MODELS_DIR ${modelsDir}; write models under MODELS_DIR.`);
  }
  mkdirSync(path.dirname(absPath), { recursive: true });
  writeFileSync(absPath, bytes);
  return { path: rel.split(path.sep).join('/'), sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}
