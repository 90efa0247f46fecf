// Which models each pool runs, kept current: a pool loads only what it needs (image-clean the image
// encoder, text-embed the text encoder, infer the classifier) and re-reads the manifest every few
// seconds, so `setup`, `train` or `models use` take effect in running pools without a restart. With no
// model registered yet (a fresh machine), the pools still clean and store listings and say so.
import type { Config } from '../config.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics/registry.js';
import { currentEntry, openClassifier, openImageEmbedder, openTextEmbedder, readManifest } from '../models/load.js';
import type { ModelRole } from '../models/manifest-types.js';
import type { ImageEmbedder, ListingClassifier, TextEmbedder } from './model-ports.js';

export type PoolName = 'image-clean' | 'text-embed' | 'infer';

export interface PoolModels {
  readonly textEmbedder: TextEmbedder | null;
  readonly imageEmbedder: ImageEmbedder | null;
  readonly classifier: ListingClassifier | null;
  describe(): Record<string, string | null>;
  /** Re-reads the manifest at once (instead of at the next poll) and loads a changed model. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

type Loaded = TextEmbedder | ImageEmbedder | ListingClassifier;

const ROLE: Record<PoolName, ModelRole> = { 'image-clean': 'image-encoder', 'text-embed': 'text-encoder', infer: 'classifier' };
/** Old sessions are closed this long after a swap, so calls already in flight can finish. */
const RETIRE_AFTER_MS = 30_000;

export async function loadPoolModels(
  pool: PoolName,
  config: Config,
  metrics: Metrics,
  log: Logger,
  opts: { reloadMs?: number } = {},
): Promise<PoolModels> {
  const role = ROLE[pool];
  let current: Loaded | null = null;
  let version: string | null = null;
  let closed = false;
  /** Replaced models waiting out RETIRE_AFTER_MS; close() closes them at once. */
  const retiring = new Map<Loaded, NodeJS.Timeout>();
  const closeRetired = (old: Loaded): Promise<void> => {
    clearTimeout(retiring.get(old));
    retiring.delete(old);
    // A failed release must not become an unhandled rejection, which would end the pool mid-job.
    return old.close().catch((err: unknown) => log.warn({ err, pool, role }, 'closing a replaced model failed'));
  };

  // One reload at a time: jobs asking for a new version all wait for the same one.
  let loading: Promise<void> | null = null;
  const open = (): Promise<void> => {
    loading ??= reload().finally(() => {
      loading = null;
    });
    return loading;
  };
  const reload = async (): Promise<void> => {
    const entry = currentEntry(await readManifest(config), role);
    if ((entry?.version ?? null) === version) return;
    const next: Loaded | null =
      role === 'text-encoder' ? await openTextEmbedder(config, log, metrics, entry)
      : role === 'image-encoder' ? await openImageEmbedder(config, log, metrics, entry)
      : await openClassifier(config, log, metrics, entry);
    const old = current;
    current = next;
    version = entry?.version ?? null;
    if (old) retiring.set(old, setTimeout(() => void closeRetired(old), RETIRE_AFTER_MS).unref());
    if (next) log.info({ pool, role, version }, 'model loaded');
    else log.warn({ pool, role }, `no ${role} is registered: listings are cleaned and stored without it (run \`npm run cli -- setup\`)`);
  };

  await open();
  const timer = setInterval(() => {
    if (closed) return;
    open().catch((err: unknown) => log.error({ err, pool, role }, 'reloading the model failed; keeping the loaded one'));
  }, opts.reloadMs ?? 5000);
  timer.unref();

  return {
    get textEmbedder() {
      return role === 'text-encoder' ? (current as TextEmbedder | null) : null;
    },
    get imageEmbedder() {
      return role === 'image-encoder' ? (current as ImageEmbedder | null) : null;
    },
    get classifier() {
      return role === 'classifier' ? (current as ListingClassifier | null) : null;
    },
    describe: () => ({ [role]: version }),
    refresh: open,
    async close() {
      closed = true;
      clearInterval(timer);
      // A reload in progress finishes first, so the model it opens is closed here too.
      await loading?.catch(() => undefined);
      await Promise.all([...retiring.keys()].map(closeRetired));
      await current?.close();
    },
  };
}
