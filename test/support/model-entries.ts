// Manifest entries for tests of the model registry's bookkeeping (prune, manifest checks): the files
// they list are named after the version and need not hold a model.
import type { ManifestEntry, ModelRole } from '../../src/models/manifest-types.js';

/** An entry created on day `day` of November 2026; a classifier names the encoders it was trained on. */
export function modelEntry(role: ModelRole, version: string, day: number, encoders?: { text: string; image: string }): ManifestEntry {
  return {
    role,
    name: role,
    version,
    runtime: 'onnxruntime',
    files: [{ path: `generated/${version.replace(/[@:]/g, '_')}.onnx`, sha256: 'a'.repeat(64), bytes: 1 }],
    inputs: [],
    outputs: [],
    preprocessing: encoders ? { textEncoder: encoders.text, imageEncoder: encoders.image } : {},
    createdAt: `2026-11-${String(day).padStart(2, '0')}T00:00:00Z`,
  };
}
