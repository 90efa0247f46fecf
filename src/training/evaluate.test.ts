// evaluateCatalogue refusing a catalogue with nothing to score before it opens any model (its models
// folder here is empty, so opening one would fail differently). The accounting of a scored catalogue,
// on real trained models, is in test/models-pipeline.test.ts.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import type { Logger } from '../logging.js';
import { evaluateCatalogue } from './evaluate.js';

const silent = { warn: () => {}, info: () => {}, error: () => {}, debug: () => {} } as unknown as Logger;
let dir: string;

async function catalogue(name: string, products: string[][], images: [string, string][], files: string[]) {
  const root = path.join(dir, name);
  mkdirSync(path.join(root, 'images'), { recursive: true });
  const q = (v: string) => `"${v.replace(/"/g, '""')}"`;
  await writeFile(path.join(root, 'Products.csv'), [',id,product_name,category,product_description,price,location', ...products.map((p, i) => [i, ...p.map(q)].join(','))].join('\n') + '\n');
  await writeFile(path.join(root, 'Images.csv'), [',id,product_id,bucket_link,image_ref,create_time', ...images.map(([id, pid], i) => `${i},${id},${pid},,ref,2022-02-26`)].join('\n') + '\n');
  const jpeg = await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 200, g: 40, b: 40 } } }).jpeg().toBuffer();
  for (const f of files) await writeFile(path.join(root, 'images', `${f}.jpg`), jpeg);
  return { productsPath: path.join(root, 'Products.csv'), imagesPath: path.join(root, 'Images.csv'), imageDir: path.join(root, 'images'), label: name };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lp-evaluate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('evaluateCatalogue on a catalogue the models never saw', () => {
  it('refuses, before opening any model, a catalogue with no labelled listing to score', async () => {
    const paths = await catalogue('unlabelled', [['p-a', 'Grey sofa', '', 'three seater', '£50.00', 'Leeds']], [], []);
    await expect(evaluateCatalogue({ config: loadConfig({ MODELS_DIR: path.join(dir, 'no-models') }), log: silent }, paths, { split: 'all', requireListings: true })).rejects.toThrow(
      /No listing of .*Products\.csv can be scored: of 1 record\(s\), 0 were refused .* 1 have no category/,
    );
  });
});
