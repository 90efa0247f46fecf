// The API's own metrics, registered on the process registry from src/metrics (createMetrics('api')).
// Labels stay bounded: the route pattern (never the raw URL), the method and the status code.
import client from 'prom-client';
import type { Metrics } from './registry.js';
import { METRIC_PREFIX } from './registry.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createApiMetrics(metrics: Metrics) {
  const registers = [metrics.registry];
  return {
    base: metrics,
    httpDuration: new client.Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'HTTP request latency of the API, per route pattern, method and status code.',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: BUCKETS,
      registers,
    }),
    webhook: new client.Counter({
      name: `${METRIC_PREFIX}webhook_deliveries_total`,
      help: 'Listing-created deliveries by outcome (accepted, unchanged, bad_signature, replay, in_progress, invalid).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    indexSize: new client.Gauge({
      name: `${METRIC_PREFIX}search_index_listings`,
      help: 'Listings held in the API\'s in-memory vector index.',
      registers,
    }),
    indexAge: new client.Gauge({
      name: `${METRIC_PREFIX}search_index_age_seconds`,
      help: 'Seconds since the vector index last synced with Postgres.',
      registers,
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
