// Which models each pool loads. A pool loads only what it runs: image-clean the image encoder,
// text-embed the text encoder, infer the combined classifier. With no models registered yet (a fresh
// machine before `setup`/`train`) the pools still clean and store listings and say so in the log.
import type { Config } from '../config.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics/registry.js';
import type { ImageEmbedder, ListingClassifier, TextEmbedder } from './model-ports.js';

export interface PoolModels {
  textEmbedder: TextEmbedder | null;
  imageEmbedder: ImageEmbedder | null;
  classifier: ListingClassifier | null;
  describe: Record<string, string | null>;
  close(): Promise<void>;
}

export async function loadPoolModels(
  pool: 'image-clean' | 'text-embed' | 'infer',
  _config: Config,
  _metrics: Metrics,
  log: Logger,
): Promise<PoolModels> {
  log.warn({ pool }, 'no models are wired yet: listings are cleaned and stored without embeddings or predictions');
  return { textEmbedder: null, imageEmbedder: null, classifier: null, describe: {}, close: async () => {} };
}
