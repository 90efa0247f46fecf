import { readFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORY_NAMES } from '../domain/category.js';
import { generateSampleCatalogue } from './generate-sample.js';
import type { SampleCatalogue } from './generate-sample.js';
import { loadCatalogue } from './load-catalogue.js';
import { SAMPLE_CATEGORIES } from './sample-vocabulary.js';
import { assertAccounted, findMissingPhotos } from './report.js';

let dir: string;
let sample: SampleCatalogue;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sample-catalogue-'));
  sample = await generateSampleCatalogue(path.join(dir, 'a'), { listingsPerCategory: 2, seed: 42, photoSize: 48 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('generateSampleCatalogue', () => {
  it('writes the research format with its quirks', async () => {
    const products = await readFile(sample.productsPath, 'utf8');
    const images = await readFile(sample.imagesPath, 'utf8');
    expect(products.startsWith(',id,product_name,category,product_description,price,location\n')).toBe(true);
    expect(products).not.toContain('\r\n0,');
    expect(products).toMatch(/[^"\n]\r[^\n]/); // a bare \r in an unquoted field
    expect(products).toContain('"\r\n'); // a \r after a closing quote
    expect(images.startsWith(',id,product_id,bucket_link,image_ref,create_time\r\n')).toBe(true);
    expect(images.split('\r\n').filter(Boolean).every((line) => line.split(',').length === 6)).toBe(true);
  });

  it('round-trips through loadCatalogue with every planted quirk reported', async () => {
    const c = await loadCatalogue(sample);
    assertAccounted(c);
    const { quirks, expected } = sample;
    expect(c.counts).toMatchObject({ ...expected, productRejects: 1, imageRejects: 0 });
    expect(c.listings).toHaveLength(CATEGORY_NAMES.length * 2);
    expect(new Set(c.listings.map((l) => l.label))).toEqual(new Set(CATEGORY_NAMES));
    expect(c.rejects).toEqual([expect.objectContaining({ line: quirks.rejectedProductLine, reason: 'The id is empty; every row needs one.' })]);
    expect(c.duplicates).toEqual([expect.objectContaining({ id: quirks.duplicateListingId, duplicateOf: quirks.duplicateOfId })]);
    const byId = new Map(c.listings.map((l) => [l.id, l]));
    expect(byId.get(quirks.badPriceListingId)?.price).toBeNull();
    expect(byId.get(quirks.noPhotoListingId)?.imageIds).toEqual([]);
    for (const id of quirks.strayCrListingIds) {
      const l = byId.get(id);
      expect(l && /\r/.test(l.descriptionRaw + l.location)).toBe(false);
    }
    expect(byId.get(quirks.strayCrListingIds[0] as string)?.descriptionRaw).toContain('\n');
    expect(c.orphanImages.map((o) => o.cause).sort()).toEqual(['listing-duplicate', 'no-listing']);
    expect(c.orphanImages.find((o) => o.cause === 'no-listing')?.id).toBe(quirks.orphanImageId);
    expect(await findMissingPhotos(c.images.values())).toEqual([]);
    expect((await stat(c.images.get(quirks.zeroBytePhotoId)?.path ?? '')).size).toBe(0);
    expect(await readFile(c.images.get(quirks.textPhotoId)?.path ?? '', 'utf8')).toMatch(/not a photo/);
  });

  it('makes text learnable: counting vocabulary hits recovers the category of most listings', async () => {
    const c = await loadCatalogue(sample);
    let right = 0;
    for (const l of c.listings) {
      const words = l.modelText.split(' ');
      const hits = CATEGORY_NAMES.map((name) => words.filter((w) => SAMPLE_CATEGORIES[name].words.includes(w)).length);
      if (CATEGORY_NAMES[hits.indexOf(Math.max(...hits))] === l.label) right++;
    }
    expect(right / c.listings.length).toBeGreaterThan(0.9);
  });

  it('is a pure function of the seed', async () => {
    const again = await generateSampleCatalogue(path.join(dir, 'b'), { listingsPerCategory: 2, seed: 42, photoSize: 48 });
    const other = await generateSampleCatalogue(path.join(dir, 'c'), { listingsPerCategory: 2, seed: 43, photoSize: 48 });
    const read = (p: string): Promise<string> => readFile(p, 'utf8');
    expect(await read(again.productsPath)).toBe(await read(sample.productsPath));
    expect(await read(again.imagesPath)).toBe(await read(sample.imagesPath));
    expect(await read(other.productsPath)).not.toBe(await read(sample.productsPath));
    const first = (await loadCatalogue(sample)).listings[0]?.imageIds[0] ?? '';
    const bytes = (d: string): Promise<Buffer> => readFile(path.join(d, 'images', `${first}.jpg`));
    expect((await bytes(path.join(dir, 'b'))).equals(await bytes(path.join(dir, 'a')))).toBe(true);
  });

  it('refuses a bad size', async () => {
    await expect(generateSampleCatalogue(path.join(dir, 'd'), { listingsPerCategory: 0, seed: 1 })).rejects.toThrow(/listingsPerCategory/);
  });
});
