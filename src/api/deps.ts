// What the API server is built from. main.ts assembles the real parts; tests build the same parts on a
// random schema and queue prefix.
import type { Redis } from '../queues/connection.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logging.js';
import type { ListingFlowProducer } from '../queues/flows.js';
import type { SearchIndex } from '../search/search-index.js';
import type { ApiMetrics } from '../metrics/api-metrics.js';
import type { ApiModels } from './predict-service.js';

export interface ApiDeps {
  config: Config;
  log: Logger;
  db: Db;
  redis: Redis;
  producer: ListingFlowProducer;
  models: ApiModels;
  index: SearchIndex;
  metrics: ApiMetrics;
}
