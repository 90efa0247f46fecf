// The model registry: MODELS_DIR/manifest.json, file verification, and the explicit `models pull`.
export { ModelError, silentLogger } from './errors.js';
export type { ModelErrorCode, ModelLogger } from './errors.js';
export { sha256File, describeFile, contentVersion } from './hash.js';
export {
  MANIFEST_FILE,
  manifestPath,
  emptyManifest,
  loadManifest,
  writeManifest,
  updateManifest,
  registerModel,
  setCurrentModel,
  findModel,
  currentModel,
} from './manifest.js';
export { MODEL_ROLES, manifestSchema, manifestEntrySchema } from './schema.js';
export { verifyModelFiles, checkSessionIo, resolveModelFile } from './verify.js';
export type { SessionIo, VerifiedFiles } from './verify.js';
export { pullModels, hubFileUrl, PULL_TARGETS, DEFAULT_HUB_URL, DEFAULT_HUB_REVISION, BERT_HUB_REPO, RESNET_HUB_REPO } from './pull.js';
export type { PullName, PullOptions, PullTarget } from './pull.js';
export { downloadFile } from './download.js';
export { exposePooledFeatures, imageBackboneEntry, FEATURES_OUTPUT } from './image-backbone.js';
