// Inference throughput, side by side in one run (CPU, one process):
//   1. the combined classifier behind the dynamic batcher (INFER_MAX_BATCH) vs the same model at batch
//      size 1, both fed by the same number of concurrent callers, as the infer pool's jobs are;
//   2. the BERT text path (transformers.js) on the mini BERT from ../shared, texts/s at batch 64.
// The classifier is the one served: the current classifier in MODELS_DIR (default models/), read only, at
// its real input widths. Without one, a stand-in seed ensemble of the offline models' shapes is trained on
// random data (speed does not depend on the weights) and the output says so.
// Each side is warmed up with the same concurrent load, then measured for BENCH_SECONDS (default 3).
//   npm run bench:inference
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logging.js';
import { createBertEncoder } from '../src/models/bert/index.js';
import { classifierManifestEntry, exportClassifierOnnx } from '../src/models/classifier/export.js';
import { DEFAULT_MEMBERS, trainEnsemble } from '../src/models/classifier/train.js';
import { currentEntry, openClassifier, readManifest } from '../src/models/load.js';
import type { ManifestEntry } from '../src/models/manifest-types.js';

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const log = createLogger(config, 'bench');
const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-infer-'));
const CALLERS = 256;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

try {
  const served = currentEntry(await readManifest(config), 'classifier');
  let entry: ManifestEntry;
  let modelsDir: string;
  let which: string;
  if (served) {
    entry = served;
    modelsDir = config.MODELS_DIR;
    which = `served classifier ${served.version} from ${config.MODELS_DIR}`;
  } else {
    // The offline models' shapes as of this stand-in's writing: 1088-d image, 39-d text (three views x 13 classes).
    const items = Array.from({ length: 300 }, (_, i) => ({ id: `b${i}`, label: i % 13, text: rand(39, i), images: [rand(1088, i + 7)] }));
    // A seed ensemble of DEFAULT_MEMBERS members (`train`'s default).
    const { model } = trainEnsemble(items, { seed: 1, epochs: 1, lr: 1e-3, batchSize: 64, patience: 1, classes: 13, members: DEFAULT_MEMBERS });
    const file = exportClassifierOnnx(model, path.join(dir, 'classifier.onnx'), dir);
    entry = classifierManifestEntry(model, file, { version: 'bench', classes: Array.from({ length: 13 }, (_, i) => `c${i}`), imageEncoder: 'x', textEncoder: 'y' });
    modelsDir = dir;
    which = `STAND-IN classifier (no current classifier in ${config.MODELS_DIR}; run \`npm start\` to measure the served one)`;
  }
  const widthOf = (name: string): number => {
    const width = Number(entry.inputs.find((i) => i.name === name)?.shape[1]);
    if (!Number.isInteger(width) || width < 1) throw new Error(`Classifier ${entry.version} declares no width for its "${name}" input; check its manifest entry.`);
    return width;
  };
  const imageDim = widthOf('image');
  const textDim = widthOf('text');

  const inputs = Array.from({ length: 64 }, (_, i) => ({ text: rand(textDim, 100 + i), image: rand(imageDim, 200 + i) }));
  /** CALLERS concurrent callers classify until the deadline; returns how many answers came back. */
  async function drive(c: { classify(x: (typeof inputs)[number]): Promise<unknown> }, seconds: number): Promise<number> {
    const deadline = performance.now() + seconds * 1000;
    let done = 0;
    await Promise.all(
      Array.from({ length: CALLERS }, async (_, k) => {
        for (let i = k; performance.now() < deadline; i += CALLERS) {
          await c.classify(inputs[i % inputs.length]!);
          done++;
        }
      }),
    );
    return done;
  }
  async function run(maxBatch: number): Promise<{ perSecond: number; seconds: number }> {
    const c = (await openClassifier({ ...config, MODELS_DIR: modelsDir, INFER_MAX_BATCH: maxBatch, INFER_MAX_DELAY_MS: 2 }, log, undefined, entry))!;
    await drive(c, 1); // warm-up under the same load: JIT, onnxruntime's allocations
    const t0 = performance.now();
    const done = await drive(c, SECONDS);
    const seconds = (performance.now() - t0) / 1000;
    await c.close();
    return { perSecond: done / seconds, seconds };
  }
  const single = await run(1);
  const batched = await run(config.INFER_MAX_BATCH);
  console.log(
    `${which}: ${imageDim}-d image, ${textDim}-d text\n` +
      `classifier, ${CALLERS} concurrent callers, ${SECONDS} s each after a warm-up (ORT_INTRA_OP_THREADS=${config.ORT_INTRA_OP_THREADS}):\n` +
      `  batch size 1        ${single.perSecond.toFixed(0)} listings/s\n` +
      `  dynamic batch <= ${config.INFER_MAX_BATCH} ${batched.perSecond.toFixed(0)} listings/s\n` +
      `  speed-up            ${(batched.perSecond / single.perSecond).toFixed(1)}x`,
  );

  const miniBert = path.join(config.SHARED_DIR, 'models', 'marketplace-mini-bert');
  if (existsSync(miniBert)) {
    const bert = await createBertEncoder({ modelDir: miniBert, maxTokens: config.TEXT_MAX_TOKENS, batchSize: 64 });
    const texts = Array.from({ length: 2048 }, (_, i) => `listing ${i} oak dining table with four chairs good condition collection only`);
    await bert.encode(texts.slice(0, 64));
    const t0 = performance.now();
    await bert.encode(texts);
    const s = (performance.now() - t0) / 1000;
    console.log(`BERT (mini BERT, ${config.TEXT_MAX_TOKENS} tokens, batch 64): ${(texts.length / s).toFixed(0)} texts/s`);
    await bert.close();
  } else {
    console.log('BERT: skipped, ../shared/models/marketplace-mini-bert is absent.');
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
