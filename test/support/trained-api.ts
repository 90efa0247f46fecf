// A pipeline with trained models and an API on top, for the tests that need real predictions: a
// catalogue is backfilled through the pools, the offline encoders fitted, the classifier trained and
// every listing classified; then the API starts with the same models loaded in process. The real
// sample (../shared/data/fbm, first `limit` listings) is used when present, else a generated one.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { ApiModels } from '../../src/api/predict-service.js';
import { generateSampleCatalogue } from '../../src/catalogue/generate-sample.js';
import { loadConfig } from '../../src/config.js';
import { openClassifier, openImageEmbedder, openTextEmbedder } from '../../src/models/load.js';
import { startTestApi, type TestApi } from './api.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

export const FBM_DIR = path.join(loadConfig().SHARED_DIR, 'data', 'fbm');
export const HAS_FBM = existsSync(path.join(FBM_DIR, 'Products.csv'));

export interface TrainedApi {
  t: TestPipeline;
  api: TestApi;
  models: ApiModels;
  catalogue: { productsPath: string; imagesPath: string; imageDir: string; label: 'fbm' | 'generated' };
  close(): Promise<void>;
}

export async function startTrainedApi(opts: { limit?: number; env?: Record<string, string> } = {}): Promise<TrainedApi> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trained-api-'));
  const catalogue = HAS_FBM
    ? { productsPath: path.join(FBM_DIR, 'Products.csv'), imagesPath: path.join(FBM_DIR, 'Images.csv'), imageDir: path.join(FBM_DIR, 'images'), label: 'fbm' as const }
    : { ...(await generateSampleCatalogue(path.join(dir, 'catalogue'), { listingsPerCategory: 12, seed: 3 })), label: 'generated' as const };
  const t = await createTestPipeline({ MODELS_DIR: path.join(dir, 'models'), API_RATE_LIMIT_PER_MINUTE: '0', ...opts.env });
  t.startPools();
  let api: TestApi | undefined;
  const models: ApiModels = { textEmbedder: null, imageEmbedder: null, classifier: null };
  try {
    const limit = HAS_FBM ? ['--limit', String(opts.limit ?? 400)] : [];
    await t.cli(['backfill', '--products', catalogue.productsPath, '--images', catalogue.imagesPath, '--image-dir', catalogue.imageDir, ...limit]);
    await t.cli(['setup', '--no-holdout']);
    await t.cli(['train', '--no-holdout', '--epochs', '15']);
    await t.cli(['classify']);
    // As the API process opens them (src/api/start-api.ts).
    const env = loadConfig(t.env);
    const config = { ...env, INFER_MAX_DELAY_MS: env.API_BATCH_DELAY_MS };
    const log = pino({ level: 'warn' });
    models.textEmbedder = await openTextEmbedder(config, log);
    models.imageEmbedder = await openImageEmbedder(config, log);
    models.classifier = await openClassifier(config, log);
    api = await startTestApi(t.env, models);
  } catch (err) {
    await t.close();
    throw err;
  }
  return {
    t,
    api,
    models,
    catalogue,
    async close() {
      await api?.close();
      await Promise.all([models.textEmbedder?.close(), models.imageEmbedder?.close(), models.classifier?.close()]);
      await t.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
