// Where `train` keeps what belongs to a model but is not one of its manifest files: the training report
// of a classifier and the resumable checkpoint of a classifier for one pair of encoders. One place, so
// that `models prune` removes exactly what `train` wrote.
import path from 'node:path';

const generated = (modelsDir: string, ...parts: string[]) => path.join(modelsDir, 'generated', ...parts);

/** MODELS_DIR/generated/reports/<classifier version>: report.json, curves and confusion matrix. */
export function classifierReportDir(modelsDir: string, classifierVersion: string): string {
  return generated(modelsDir, 'reports', classifierVersion.replace(/[@:]/g, '_'));
}

/** The checkpoint `train --resume` continues from, per pair of encoder versions. */
export function classifierCheckpointPath(modelsDir: string, textVersion: string, imageVersion: string): string {
  return generated(modelsDir, 'checkpoints', `classifier-${textVersion}-${imageVersion}.json`.replace(/[@:#]/g, '_'));
}
