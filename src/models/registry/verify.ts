// Checks that the files on disk are exactly the ones the manifest describes, before any loader runs
// them: a half-copied or swapped model must fail loudly at start-up, not produce quiet garbage.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ManifestEntry, TensorSpec } from '../manifest-types.js';
import { ModelError } from './errors.js';
import { sha256File } from './hash.js';

/** Where an operator gets a missing file back: pulled encoders are downloaded, the rest retrained. */
function remedy(entry: ManifestEntry): string {
  return entry.notes?.['source'] === 'pull'
    ? `Run \`npm run cli -- models pull\` to download ${entry.name} again.`
    : 'Retrain it with `npm run cli -- setup` (or restore MODELS_DIR from a backup).';
}

export function resolveModelFile(modelsDir: string, relPath: string): string {
  const abs = path.resolve(modelsDir, relPath);
  const rel = path.relative(path.resolve(modelsDir), abs);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new ModelError('manifest-invalid', `The manifest file path "${relPath}" points outside MODELS_DIR (${modelsDir}); fix the entry.`);
  }
  return abs;
}

export interface VerifiedFiles {
  /** Absolute paths, in manifest order. */
  paths: string[];
  bytes: number;
}

/**
 * Checks presence, byte size and sha256 of every file of the entry. All problems are gathered into one
 * error so an operator fixes them in one go.
 */
export async function verifyModelFiles(modelsDir: string, entry: ManifestEntry): Promise<VerifiedFiles> {
  const problems: string[] = [];
  const paths: string[] = [];
  let bytes = 0;
  let missing = false;
  for (const file of entry.files) {
    const abs = resolveModelFile(modelsDir, file.path);
    paths.push(abs);
    let size: number;
    try {
      const info = await stat(abs);
      if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      size = info.size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      problems.push(`the file ${abs} is missing`);
      missing = true;
      continue;
    }
    bytes += size;
    if (size !== file.bytes) {
      problems.push(`the file ${abs} has ${size} bytes but the manifest expects ${file.bytes} (an incomplete copy or a different file)`);
      continue;
    }
    const actual = await sha256File(abs);
    if (actual !== file.sha256) {
      problems.push(`the file ${abs} has sha256 ${actual} but the manifest expects ${file.sha256} (the file was replaced or corrupted)`);
    }
  }
  if (problems.length > 0) {
    throw new ModelError(
      missing ? 'file-missing' : 'file-invalid',
      `The ${entry.role} model ${entry.version} cannot be used: ${problems.join('; ')}. ${remedy(entry)}`,
    );
  }
  return { paths, bytes };
}

/** What an ONNX session exposes; structurally satisfied by onnxruntime's InferenceSession. */
export interface SessionIo {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
}

function sameNames(specs: TensorSpec[], names: readonly string[]): boolean {
  const a = specs.map((s) => s.name).sort();
  const b = [...names].sort();
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** Throws when the manifest's input/output names are not exactly the session's. */
export function checkSessionIo(entry: ManifestEntry, session: SessionIo): void {
  const problems: string[] = [];
  if (!sameNames(entry.inputs, session.inputNames)) {
    problems.push(`inputs [${session.inputNames.join(', ')}] but the manifest lists [${entry.inputs.map((s) => s.name).join(', ')}]`);
  }
  if (!sameNames(entry.outputs, session.outputNames)) {
    problems.push(`outputs [${session.outputNames.join(', ')}] but the manifest lists [${entry.outputs.map((s) => s.name).join(', ')}]`);
  }
  if (problems.length > 0) {
    throw new ModelError(
      'io-mismatch',
      `The ONNX file of the ${entry.role} model ${entry.version} has ${problems.join(' and ')}, so the manifest entry does not describe this file. ` +
        `Re-register the model (${entry.notes?.['source'] === 'pull' ? 'pull it again' : 'retrain it with `npm run cli -- setup`'}).`,
    );
  }
}
