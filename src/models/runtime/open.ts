// Manifest entry -> verified, running session: the one path every ONNX model takes before serving.
import type { ManifestEntry } from '../manifest-types.js';
import { ModelError } from '../registry/errors.js';
import { checkSessionIo, resolveModelFile, verifyModelFiles } from '../registry/verify.js';
import { createSession, type ModelSession, type SessionOptions } from './session.js';

/** The entry's ONNX file: the only *.onnx file, or the one named by preprocessing.onnxFile. */
export function onnxFileOf(entry: ManifestEntry): string {
  const named = entry.preprocessing['onnxFile'];
  const candidates = entry.files.filter((f) => (typeof named === 'string' ? f.path === named : f.path.endsWith('.onnx')));
  if (candidates.length !== 1) {
    throw new ModelError(
      'manifest-invalid',
      `The ${entry.role} model ${entry.version} lists ${candidates.length} ONNX files; exactly one is needed ` +
        '(name it in preprocessing.onnxFile when a model ships several). Fix the manifest entry.',
    );
  }
  return candidates[0]!.path;
}

/** Verifies the files (size + sha256), opens the session and checks its input/output names. */
export async function openModelSession(
  modelsDir: string,
  entry: ManifestEntry,
  options: Omit<SessionOptions, 'label'>,
): Promise<ModelSession & { entry: ManifestEntry }> {
  if (entry.runtime !== 'onnxruntime') {
    throw new ModelError('manifest-invalid', `The ${entry.role} model ${entry.version} uses the ${entry.runtime} runtime; load it with its own loader, not openModelSession.`);
  }
  await verifyModelFiles(modelsDir, entry);
  const model = await createSession(resolveModelFile(modelsDir, onnxFileOf(entry)), { ...options, label: entry.version });
  try {
    checkSessionIo(entry, model.session);
  } catch (err) {
    await model.close();
    throw err;
  }
  return { ...model, entry };
}
