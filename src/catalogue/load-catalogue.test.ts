import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { CatalogueReader } from './catalogue-reader.js';
import { loadCatalogue, type Catalogue } from './load-catalogue.js';
import { assertAccounted, findMissingPhotos, summariseCatalogue } from './report.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'load-catalogue-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const U = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** A small dirty catalogue: every kind of row the loader must sort. */
async function writeFixture(name: string): Promise<{ productsPath: string; imagesPath: string; imageDir: string }> {
  const root = path.join(dir, name);
  const imageDir = path.join(root, 'images');
  await mkdir(imageDir, { recursive: true });
  const products = [
    ',id,product_name,category,product_description,price,location',
    `0,${U(1)},"Oak table | in Leeds, West Yorkshire | Gumtree",Home & Garden / Tables,Solid\roak,"£1,250.00","Leeds, West Yorkshire"`,
    `1,${U(2)},Kettle,Appliances,"Boils, fast",free,York`, // bad price: kept, price null
    `2,,No id,Appliances,desc,£5,York`, // empty id
    `3,${U(4)},Too few,Appliances,£5,York`, // wrong column count
    `4,${U(5)},"Oak table | in Leeds, West Yorkshire | Gumtree",Home & Garden / Tables,Solid\roak,£1250,"Leeds, West Yorkshire"\r`, // duplicate of 1
    `5,${U(6)},Car,Motors / Cars,desc,£5,York`, // unknown category
    `6,${U(2)},Kettle again,Appliances,desc,£5,York`, // duplicate id
    `7,${U(8)},No photos,Other Goods,,£0.00,York`,
    '',
  ].join('\n');
  const images = [
    ',id,product_id,bucket_link,image_ref,create_time',
    `0,${U(101)},${U(1)},link,ref,2022-02-27`,
    `1,${U(102)},${U(1)},link,ref,2022-02-26`,
    `2,${U(103)},${U(5)},link,ref,2022-02-26`, // image of the duplicate
    `3,${U(104)},${U(6)},link,ref,2022-02-26`, // image of a rejected listing
    `4,${U(105)},${U(999)},link,ref,2022-02-26`, // no such listing
    `5,${U(106)},${U(2)},link,ref,26/02/2022`, // bad time
    `6,${U(101)},${U(2)},link,ref,2022-02-26`, // duplicate image id
    `7,${U(107)},${U(2)},link,ref,`,
    '',
  ].join('\r\n');
  await writeFile(path.join(root, 'Products.csv'), products);
  await writeFile(path.join(root, 'Images.csv'), images);
  await writeFile(path.join(imageDir, `${U(101)}.jpg`), 'not really a jpeg');
  return { productsPath: path.join(root, 'Products.csv'), imagesPath: path.join(root, 'Images.csv'), imageDir };
}

describe('loadCatalogue on a dirty fixture', () => {
  it('sorts every row into listings, duplicates, rejects or orphans', async () => {
    const paths = await writeFixture('dirty');
    const c = await loadCatalogue(paths);
    assertAccounted(c);
    expect(c.listings.map((l) => l.id)).toEqual([U(1), U(2), U(8)]);
    const [table, kettle, noPhotos] = c.listings;
    expect(table).toMatchObject({ name: 'Oak table', descriptionRaw: 'Solid\noak', price: 1250, label: 'Home & Garden', createTime: '2022-02-26', imageIds: [U(101), U(102)] });
    expect(kettle).toMatchObject({ price: null, priceRaw: 'free', imageIds: [U(107)], createTime: null });
    expect(noPhotos).toMatchObject({ imageIds: [], price: 0, descriptionRaw: '' });
    expect(c.duplicates.map(({ id, duplicateOf, line }) => ({ id, duplicateOf, line }))).toEqual([{ id: U(5), duplicateOf: U(1), line: 6 }]);
    expect(c.duplicates[0]?.listing.id).toBe(U(5));

    const rejects = c.rejects.map((r) => [path.basename(r.file), r.line, r.reason]);
    expect(rejects).toEqual([
      ['Images.csv', 7, expect.stringMatching(/create_time "26\/02\/2022" is not an ISO date/)],
      ['Images.csv', 8, expect.stringMatching(/image id .* already used on line 2/)],
      ['Products.csv', 4, 'The id is empty; every row needs one.'],
      ['Products.csv', 5, expect.stringMatching(/^The record has 6 fields but the header has 7/)],
      ['Products.csv', 7, expect.stringMatching(/category "Motors \/ Cars" does not start with one of the 13 known/)],
      ['Products.csv', 8, expect.stringMatching(/listing id .* already used on line 3/)],
    ]);
    expect(c.orphanImages.map((o) => [o.id, o.cause])).toEqual([
      [U(103), 'listing-duplicate'],
      [U(104), 'listing-rejected'],
      [U(105), 'no-listing'],
    ]);
    expect(c.images.get(U(102))).toEqual({ id: U(102), listingId: U(1), path: path.join(paths.imageDir, `${U(102)}.jpg`), createTime: '2022-02-26' });
    expect(c.counts).toMatchObject({ productRecords: 8, listings: 3, duplicates: 1, productRejects: 4, imageRecords: 8, images: 3, imageRejects: 2, orphanImages: 3, listingsWithoutImages: 1 });
    expect((await findMissingPhotos(c.images.values())).map((i) => i.id)).toEqual([U(102), U(107)]);
    expect(summariseCatalogue(c, 2)).toContain('products: 8 records -> 3 listings, 1 duplicates, 4 rejected');
  });

  it('takes only the first N listings and their images with a limit', async () => {
    const paths = await writeFixture('limit');
    const c = await loadCatalogue({ ...paths, limit: 1 });
    assertAccounted(c);
    expect(c.listings.map((l) => l.id)).toEqual([U(1)]);
    expect([...c.images.keys()]).toEqual([U(101), U(102)]);
    expect(c.counts).toMatchObject({ truncated: true, productRecords: 1, imagesOutsideLimit: 4, orphanImages: 0, imageRejects: 2 });
  });

  it('refuses bad options and missing paths with clear errors', async () => {
    const paths = await writeFixture('errors');
    await expect(loadCatalogue({ ...paths, limit: 0 })).rejects.toThrow(/positive integer/);
    await expect(loadCatalogue({ ...paths, productsPath: path.join(dir, 'nope.csv') })).rejects.toThrow(/is not an existing file/);
    await expect(loadCatalogue({ ...paths, imageDir: path.join(dir, 'nope') })).rejects.toThrow(/is not an existing directory/);
  });
});

/** Reads a catalogue through the streaming reader in chunks of `size`, checking every chunk's size. */
async function streamed(paths: { productsPath: string; imagesPath: string; imageDir: string; limit?: number }, size: number) {
  const reader = await CatalogueReader.open(paths);
  const listings: string[] = [];
  const duplicates: string[] = [];
  const photos: string[] = [];
  let chunks = 0;
  for await (const chunk of reader.chunks(size)) {
    chunks++;
    expect(chunk.listings.length).toBeLessThanOrEqual(size);
    listings.push(...chunk.listings.map((l) => l.id));
    duplicates.push(...chunk.duplicates.map((d) => d.id));
    for (const l of chunk.listings) photos.push(...reader.photosOf(l.id).map((p) => p.id));
  }
  return { reader, listings, duplicates, photos, chunks, tail: reader.tail() };
}

/** The parts of a loaded catalogue that the streamed read must reproduce exactly. */
function loadedParts(c: Catalogue) {
  return {
    listings: c.listings.map((l) => l.id),
    duplicates: c.duplicates.map((d) => d.id),
    photos: c.listings.flatMap((l) => l.imageIds.filter((id) => c.images.get(id)?.listingId === l.id)),
  };
}

describe('CatalogueReader (the backfill reads catalogues a chunk at a time)', () => {
  it('streams the same listings, duplicates, photos, rejects and counts as the whole load, in chunks of any size', async () => {
    const paths = await writeFixture('stream');
    const whole = await loadCatalogue(paths);
    for (const size of [1, 2, 100]) {
      const s = await streamed(paths, size);
      expect({ listings: s.listings, duplicates: s.duplicates, photos: s.photos }).toEqual(loadedParts(whole));
      // Three kept listings; the duplicate read after the first rides in the chunk that is open then.
      expect(s.chunks).toBe(Math.ceil(3 / size));
      expect(s.tail.rejects).toEqual(whole.rejects);
      expect(s.tail.orphanImages).toEqual(whole.orphanImages);
      expect(s.tail.counts).toEqual(whole.counts);
    }
    // A duplicate's own photos are still at hand for storing it as skipped.
    expect((await CatalogueReader.open(paths)).photosOf(U(5)).map((p) => p.id)).toEqual([U(103)]);
  });

  it('stops at the limit as the whole load does', async () => {
    const paths = { ...(await writeFixture('stream-limit')), limit: 2 };
    const s = await streamed(paths, 1);
    const whole = await loadCatalogue(paths);
    expect(s.listings).toEqual([U(1), U(2)]);
    expect(s.tail.counts).toEqual(whole.counts);
    expect(s.tail.counts.truncated).toBe(true);
  });

  it('says so when the tail is asked for before the read ends, or the catalogue is read twice', async () => {
    const reader = await CatalogueReader.open(await writeFixture('stream-misuse'));
    expect(() => reader.tail()).toThrow(/only after every chunk has been read/);
    const first = reader.chunks(1);
    await first.next();
    expect(() => reader.tail()).toThrow(/only after every chunk has been read/);
    await expect(reader.chunks(1).next()).rejects.toThrow(/reads its catalogue once/);
  });
});

const fbm = path.join(loadConfig().SHARED_DIR, 'data', 'fbm');
describe.skipIf(!existsSync(path.join(fbm, 'Products.csv')))(`the real catalogue sample (reads ${fbm}; skipped when it is absent)`, () => {
  it('loads 6,097 listings and 10,734 image rows with every row accounted for', async () => {
    const c = await loadCatalogue({
      productsPath: path.join(fbm, 'Products.csv'),
      imagesPath: path.join(fbm, 'Images.csv'),
      imageDir: path.join(fbm, 'images'),
    });
    assertAccounted(c);
    const missing = await findMissingPhotos(c.images.values());
    console.log(summariseCatalogue(c, missing.length));
    expect(c.counts).toMatchObject({ productRecords: 6097, listings: 6097, duplicates: 0, productRejects: 0, imageRecords: 10734, images: 10734, imageRejects: 0, orphanImages: 0, listingsWithoutImages: 95 });
    expect(missing).toHaveLength(0);
    expect(new Set(c.listings.map((l) => l.label)).size).toBe(13);
    expect(c.listings.every((l) => l.price !== null && !/\r/.test(l.descriptionRaw + l.nameRaw + l.location))).toBe(true);

    const s = await streamed({ productsPath: path.join(fbm, 'Products.csv'), imagesPath: path.join(fbm, 'Images.csv'), imageDir: path.join(fbm, 'images') }, 1000);
    expect(s.chunks).toBe(7);
    expect({ listings: s.listings, duplicates: s.duplicates, photos: s.photos }).toEqual(loadedParts(c));
    expect(s.tail.counts).toEqual(c.counts);
  });
});
