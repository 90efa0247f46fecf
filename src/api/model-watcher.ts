// Keeps the API's models current without a restart, as the pools do: every API_MODEL_RELOAD_MS the
// manifest is re-read; a changed encoder or classifier is opened, swapped into deps.models, and (for a
// new classifier) a new vector index over its predictions replaces deps.index once it has loaded.
// Requests read deps.models / deps.index per call, so they see either the old or the new set.
import type { Config } from '../config.js';
import { CATEGORY_NAMES } from '../domain/category.js';
import { currentEntry, openClassifier, openImageEmbedder, openTextEmbedder, readManifest, type ModelConfig } from '../models/load.js';
import { SearchIndex } from '../search/search-index.js';
import type { ApiDeps } from './deps.js';

/** Replaced models and indexes are closed this long after the swap, so requests in flight can finish. */
const RETIRE_AFTER_MS = 30_000;

export function newSearchIndex(deps: Pick<ApiDeps, 'db' | 'log' | 'config'>, classifier: ApiDeps['models']['classifier']): SearchIndex {
  return new SearchIndex({
    db: deps.db,
    log: deps.log,
    modelVersion: classifier?.version ?? null,
    classes: classifier?.classes ?? CATEGORY_NAMES,
    categoryWeight: deps.config.SEARCH_CATEGORY_WEIGHT,
    annThreshold: deps.config.SEARCH_ANN_THRESHOLD,
    annEf: deps.config.SEARCH_ANN_EF,
    pollMs: deps.config.SEARCH_INDEX_POLL_MS,
    resyncMs: deps.config.SEARCH_INDEX_RESYNC_MS,
  });
}

export function watchApiModels(deps: ApiDeps, modelConfig: ModelConfig & Pick<Config, 'API_MODEL_RELOAD_MS'>): { close(): Promise<void> } {
  // Replaced models and indexes waiting to be closed. close() closes them at once: a retired search
  // index still polls Postgres, and shutdown closes the pool right after the watcher.
  const retiring = new Map<{ close(): Promise<void> }, NodeJS.Timeout>();
  const closeRetired = (thing: { close(): Promise<void> }) => {
    clearTimeout(retiring.get(thing));
    retiring.delete(thing);
    return thing.close().catch(() => undefined);
  };
  const retire = (thing: { close(): Promise<void> } | null) => {
    if (thing) retiring.set(thing, setTimeout(() => void closeRetired(thing), RETIRE_AFTER_MS).unref());
  };
  let inFlight: Promise<void> | null = null;
  const check = async () => {
    const manifest = await readManifest(modelConfig);
    const m = deps.models;
    const want = {
      text: currentEntry(manifest, 'text-encoder'),
      image: currentEntry(manifest, 'image-encoder'),
      classifier: currentEntry(manifest, 'classifier'),
    };
    if (want.text && want.text.version !== m.textEmbedder?.version) {
      const next = await openTextEmbedder(modelConfig, deps.log, deps.metrics.base, want.text);
      retire(m.textEmbedder);
      m.textEmbedder = next;
    }
    if (want.image && want.image.version !== m.imageEmbedder?.version) {
      const next = await openImageEmbedder(modelConfig, deps.log, deps.metrics.base, want.image);
      retire(m.imageEmbedder);
      m.imageEmbedder = next;
    }
    if (want.classifier && want.classifier.version !== m.classifier?.version) {
      const next = await openClassifier(modelConfig, deps.log, deps.metrics.base, want.classifier);
      const index = newSearchIndex(deps, next);
      await index.start();
      retire(m.classifier);
      retire(deps.index);
      m.classifier = next;
      deps.index = index;
      deps.log.info({ classifier: next?.version, indexed: index.size }, 'API switched to the current classifier');
    }
  };
  const timer = setInterval(() => {
    inFlight ??= check()
      .catch((err: unknown) => deps.log.error({ err }, 'reloading the API models failed; keeping the loaded ones'))
      .finally(() => {
        inFlight = null;
      });
  }, modelConfig.API_MODEL_RELOAD_MS);
  timer.unref();
  return {
    close: async () => {
      clearInterval(timer);
      // A swap in progress finishes first, so what it replaces is retired and closed here too.
      await inFlight;
      await Promise.all([...retiring.keys()].map(closeRetired));
    },
  };
}
