import { describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics/registry.js';
import { countInferOutcome } from './start-pool.js';

describe('infer outcome metrics', () => {
  const predicted = { outcome: 'predicted' as const, category: 'Home & Garden', modality: 'combined' as const, photos: { total: 1, cleaned: 1, failed: 0 } };
  const payload = { v: 1 as const, listingId: 'L1', listingHash: 'h', runId: null, receivedAt: Date.now() - 2000 };

  it('counts a listing of the live flow once, with its end-to-end latency', async () => {
    const metrics = createMetrics('outcome-test');
    countInferOutcome(metrics, predicted, payload);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/listing_pipeline_listings_processed_total\{outcome="processed",process="outcome-test"\} 1/);
    expect(text).toMatch(/listing_pipeline_listing_end_to_end_seconds_count\{[^}]*source="live"[^}]*\} 1/);
  });

  it('leaves a classify re-prediction out: the listing was counted when processed, and classify is not live traffic', async () => {
    const metrics = createMetrics('outcome-test');
    countInferOutcome(metrics, predicted, { ...payload, modelVersion: 'combined-mlp@v2' });
    const text = await metrics.registry.metrics();
    expect(text).not.toMatch(/listing_pipeline_listings_processed_total\{/);
    expect(text).not.toMatch(/listing_pipeline_listing_end_to_end_seconds_count\{/);
  });
});
