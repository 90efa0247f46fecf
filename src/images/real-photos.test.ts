// A handful of real catalogue photos (224 x 224 letterboxed JPEGs) must clean and tensorise untouched.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { cleanImage } from './clean-image.js';
import { imageLimits } from './limits.js';
import { toModelTensor } from './model-tensor.js';

const config = loadConfig();
const IMAGES_DIR = path.join(config.SHARED_DIR, 'data', 'fbm', 'images');

describe.skipIf(!existsSync(IMAGES_DIR))(`real catalogue photos (skipped: ${IMAGES_DIR} is absent)`, () => {
  it('cleans and tensorises a sample of real photos without rejections', async () => {
    const files = readdirSync(IMAGES_DIR).filter((f) => f.endsWith('.jpg')).sort();
    // Every 500th file: spread over the folder, stable between runs.
    const sample = files.filter((_, i) => i % 500 === 0).map((f) => readFileSync(path.join(IMAGES_DIR, f)));
    expect(sample.length).toBeGreaterThanOrEqual(10);
    const opts = { size: config.IMAGE_LETTERBOX_SIZE, ...imageLimits(config) };
    const cleaned = await Promise.all(sample.map((bytes) => cleanImage(bytes, opts)));
    for (const img of cleaned) {
      expect(img).toMatchObject({ width: 224, height: 224, format: 'jpeg', channels: 3, hasAlpha: false });
      expect(img.rgb.length).toBe(opts.size * opts.size * 3);
    }
    const size = config.IMAGE_MODEL_SIZE;
    const tensor = await toModelTensor(cleaned.map((c) => c.letterboxed), size, imageLimits(config));
    expect(tensor.length).toBe(sample.length * 3 * size * size);
    expect(tensor.every(Number.isFinite)).toBe(true);
    // Normalised photo pixels stay within the range reachable from [0, 1] inputs.
    const lo = tensor.reduce((a, b) => Math.min(a, b), Infinity);
    const hi = tensor.reduce((a, b) => Math.max(a, b), -Infinity);
    expect(lo).toBeGreaterThanOrEqual(-0.485 / 0.229 - 1e-4);
    expect(hi).toBeLessThanOrEqual((1 - 0.406) / 0.225 + 1e-4);
  });
});
