// Keeps the API's models current without a restart, as the pools do: every API_MODEL_RELOAD_MS the
// manifest is re-read and the set it asks for (src/api/model-set.ts: the current classifier with the
// encoders it was trained on) is opened beside the live one; for a new classifier, a new vector index
// over its predictions is loaded too. Only then is the whole set swapped in, by replacing deps.models
// and deps.index; requests read each once, so every request sees either the old set or the new one.
//
// A new classifier has no predictions until `classify` (or new traffic) writes them, so its index starts
// empty: switching at once left /similar and /search answering nothing for every listing after each
// `train`. The switch therefore waits until the new classifier's predictions number at least
// API_MODEL_SWITCH_MIN_COVERAGE of the rows the live index holds (counted in Postgres before anything is
// opened, so waiting costs one count per tick); an API with no live classifier or an empty index switches
// at once, and so does a rollback to a classifier whose predictions are still stored.
import type { Config } from '../config.js';
import { countPredictions } from '../db/model-inputs-repo.js';
import { CATEGORY_NAMES } from '../domain/category.js';
import { currentEntry, readManifest, type ModelConfig } from '../models/load.js';
import { SearchIndex } from '../search/search-index.js';
import type { ApiDeps } from './deps.js';
import { closeAll, openModelSet, type Closable } from './model-set.js';

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

export interface ApiModelWatcher {
  /** Re-reads the manifest now (instead of at the next tick) and swaps in a changed set; throws what failed. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export function watchApiModels(
  deps: ApiDeps,
  modelConfig: ModelConfig & Pick<Config, 'API_MODEL_RELOAD_MS' | 'API_MODEL_SWITCH_MIN_COVERAGE'>,
): ApiModelWatcher {
  const minCoverage = modelConfig.API_MODEL_SWITCH_MIN_COVERAGE;
  /** The classifier version the watcher last said it waits for, so that is logged once, not every tick. */
  let waitingFor: string | null = null;
  /** Whether a new current classifier has enough predictions to replace the live one (see the header). */
  const readyToSwitch = async (version: string): Promise<boolean> => {
    const live = deps.models.classifier;
    const liveRows = deps.index.modelVersion === live?.version ? deps.index.size : 0;
    if (!live || liveRows === 0 || minCoverage === 0) return true;
    const have = await countPredictions(deps.db, version);
    const need = Math.ceil(minCoverage * liveRows);
    if (have >= need) return true;
    if (waitingFor !== version) {
      waitingFor = version;
      deps.log.warn(
        { classifier: version, predictions: have, needed: need, serving: live.version },
        `classifier ${version} is current but has ${have} predictions against the ${liveRows} the live index holds; the API keeps serving ${live.version} ` +
          `until it has ${need} (API_MODEL_SWITCH_MIN_COVERAGE ${minCoverage}): run \`npm run cli -- classify\``,
      );
    }
    return false;
  };
  // Replaced models and indexes waiting to be closed. close() closes them at once: a retired search
  // index still polls Postgres, and shutdown closes the pool right after the watcher.
  const retiring = new Map<Closable, NodeJS.Timeout>();
  const closeRetired = (thing: Closable) => {
    clearTimeout(retiring.get(thing));
    retiring.delete(thing);
    return thing.close().catch(() => undefined);
  };
  const retire = (thing: Closable | null) => {
    if (thing) retiring.set(thing, setTimeout(() => void closeRetired(thing), RETIRE_AFTER_MS).unref());
  };
  const check = async () => {
    const live = deps.models;
    const manifest = await readManifest(modelConfig);
    const wanted = currentEntry(manifest, 'classifier');
    if (wanted && wanted.version !== live.classifier?.version && !(await readyToSwitch(wanted.version))) return;
    const { models, opened } = await openModelSet(modelConfig, deps.log, deps.metrics.base, manifest, live);
    let index = deps.index;
    if (models.classifier !== live.classifier) {
      index = newSearchIndex(deps, models.classifier);
      try {
        await index.start();
      } catch (err) {
        // Nothing of this attempt stays open: the next tick starts afresh (e.g. once Postgres is back).
        await closeAll([index, ...opened]);
        throw err;
      }
    }
    if (opened.length === 0) return;
    const oldIndex = deps.index;
    deps.models = models;
    deps.index = index;
    if (models.textEmbedder !== live.textEmbedder) retire(live.textEmbedder);
    if (models.imageEmbedder !== live.imageEmbedder) retire(live.imageEmbedder);
    if (models.classifier !== live.classifier) retire(live.classifier);
    if (index !== oldIndex) retire(oldIndex);
    deps.log.info(
      { classifier: models.classifier?.version ?? null, text: models.textEmbedder?.version ?? null, image: models.imageEmbedder?.version ?? null, indexed: index.size },
      'API switched to the current models',
    );
  };
  let inFlight: Promise<void> | null = null;
  let closed = false;
  const refresh = (): Promise<void> => {
    if (closed) return Promise.resolve();
    inFlight ??= check().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
  const timer = setInterval(() => {
    refresh().catch((err: unknown) => deps.log.error({ err }, 'reloading the API models failed; keeping the loaded ones'));
  }, modelConfig.API_MODEL_RELOAD_MS);
  timer.unref();
  return {
    refresh,
    close: async () => {
      closed = true;
      clearInterval(timer);
      // A swap in progress finishes first, so what it replaces is retired and closed here too.
      await inFlight?.catch(() => undefined);
      await Promise.all([...retiring.keys()].map(closeRetired));
    },
  };
}
