// Which models the API serves together. A classifier only understands vectors from the encoders it
// was trained on, and `setup` makes new encoders current before `train` has produced a classifier for
// them; so the encoders served are the ones the current classifier records, not the manifest's current
// ones (those are served only while there is no classifier at all). Used at startup and by the watcher.
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics/registry.js';
import { currentEntry, openClassifier, openImageEmbedder, openTextEmbedder, type ModelConfig } from '../models/load.js';
import type { Manifest, ManifestEntry, ModelRole } from '../models/manifest-types.js';
import type { ApiModels } from './predict-service.js';

export interface Closable {
  close(): Promise<void>;
}

export const NO_API_MODELS: ApiModels = Object.freeze({ textEmbedder: null, imageEmbedder: null, classifier: null });

/** The registered encoder entry a classifier was trained on; throws when the manifest no longer lists it. */
function trainedEncoder(manifest: Manifest | null, role: ModelRole, version: string, classifier: string): ManifestEntry {
  const entry = manifest?.models.find((m) => m.role === role && m.version === version);
  if (!entry) {
    throw new Error(
      `Classifier ${classifier} was trained on ${role} ${version}, which the manifest does not list; ` +
        'register that encoder again, or run `npm run cli -- train` so that a classifier for the current encoders exists.',
    );
  }
  return entry;
}

/**
 * Opens the set the manifest asks for, reusing the models of `live` whose version stays (a role the
 * manifest has nothing for keeps its live model). Returns the set and what was newly opened; when an
 * open fails, whatever this call opened is closed before the error is thrown.
 */
export async function openModelSet(
  config: ModelConfig,
  log: Logger,
  metrics: Metrics | undefined,
  manifest: Manifest | null,
  live: ApiModels,
): Promise<{ models: ApiModels; opened: Closable[] }> {
  const opened: Closable[] = [];
  const keep = <T extends Closable | null>(model: T): T => {
    if (model) opened.push(model);
    return model;
  };
  try {
    const wanted = currentEntry(manifest, 'classifier');
    const classifier = !wanted || wanted.version === live.classifier?.version ? live.classifier : keep(await openClassifier(config, log, metrics, wanted));
    const pick = async <T extends Closable & { version: string }>(
      role: ModelRole,
      current: T | null,
      trainedOn: string | undefined,
      open: (entry: ManifestEntry) => Promise<T | null>,
    ): Promise<T | null> => {
      if (trainedOn !== undefined && current?.version === trainedOn) return current;
      const entry = trainedOn === undefined ? currentEntry(manifest, role) : trainedEncoder(manifest, role, trainedOn, classifier!.version);
      if (!entry || entry.version === current?.version) return current;
      return keep(await open(entry));
    };
    // Both settle before a failure is thrown, so an encoder that opened beside a failing one is closed too.
    const [text, image] = await Promise.allSettled([
      pick('text-encoder', live.textEmbedder, classifier?.textVersion, (e) => openTextEmbedder(config, log, metrics, e)),
      pick('image-encoder', live.imageEmbedder, classifier?.imageVersion, (e) => openImageEmbedder(config, log, metrics, e)),
    ]);
    if (text.status === 'rejected') throw text.reason;
    if (image.status === 'rejected') throw image.reason;
    return { models: { textEmbedder: text.value, imageEmbedder: image.value, classifier }, opened };
  } catch (err) {
    await closeAll(opened);
    throw err;
  }
}

/** Closes each, ignoring failures (used for models that are being discarded). */
export async function closeAll(things: readonly (Closable | null)[]): Promise<void> {
  await Promise.all(things.map((t) => t?.close().catch(() => undefined)));
}
