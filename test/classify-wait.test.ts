// `classify --wait` ends, as incomplete, when its listings stop getting predictions even though other
// producers keep the queues busy (it used to wait for empty queues, forever under steady traffic).
// Real Postgres and Redis; no infer pool runs, so the listing's job never finishes.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markProcessedMany, upsertListings } from '../src/db/listings-repo.js';
import type { ManifestEntry } from '../src/models/manifest-types.js';
import { writeManifest } from '../src/models/registry/manifest.js';
import { QueueAdmin } from '../src/queues/queue-admin.js';
import { classifyStored } from '../src/training/classify.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';

describe('classify --wait under other traffic', () => {
  let t: TestPipeline;
  let dir: string;
  let redis: Redis;
  let admin: QueueAdmin;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'classify-wait-'));
    t = await createTestPipeline({ MODELS_DIR: dir });
    redis = new Redis(t.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    admin = new QueueAdmin(redis, t.config);
    const classifier: ManifestEntry = {
      role: 'classifier', name: 'combined-mlp', version: 'clf@1', runtime: 'onnxruntime',
      files: [{ path: 'clf.onnx', sha256: 'a'.repeat(64), bytes: 1 }], inputs: [], outputs: [], preprocessing: {}, createdAt: '2026-11-01T00:00:00Z',
    };
    await writeManifest(dir, { schemaVersion: 1, current: { classifier: 'clf@1' }, models: [classifier] });
    await upsertListings(t.db, [{
      id: 'L1', nameRaw: 'Oak table', name: 'oak table', descriptionRaw: 'oak', modelText: 'oak table', price: 1, priceRaw: '£1', location: 'Leeds',
      categoryPath: null, label: null, createTime: null, imageCount: 0, contentHash: 'h', source: 'webhook',
    }], null);
    await markProcessedMany(t.db, [{ id: 'L1', contentHash: 'h' }]);
  });
  afterAll(async () => {
    await admin?.close();
    redis?.disconnect();
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives up as incomplete after the stall time, naming what to check', async () => {
    // Another producer's job that nobody takes: the queues are never empty.
    const other = new Queue('text-embed', { connection: redis, prefix: t.prefix });
    await other.add('text-embed', { unrelated: true });
    await other.close();
    const r = await classifyStored({ db: t.db, redis, admin, config: t.config }, { wait: true, pollMs: 50, stallMs: 1500 });
    expect(r.enqueued).toBe(1);
    expect(r.predictions).toBe(0);
    expect(r.incomplete).toMatch(/^1 listing\(s\) got no prediction in \d+ min; check that the infer pool runs and its queue is not paused/);
    expect(await admin.outstanding()).toBe(2); // the unrelated job and the classify job, both still there
  }, 30_000);
});
