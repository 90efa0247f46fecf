// A small catalogue in the research export's exact format, for machines without the real sample:
// Products.csv (records end with "\n", stray "\r" in fields), Images.csv (CRLF) and images/<id>.jpg.
// Text and photos are learnable per category (own vocabulary, own palette and shape) with shared noise,
// and everything is a pure function of the seed. A few dirty rows are planted on purpose; their ids
// are returned in `quirks` so tests and demos can point at them.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CATEGORY_NAMES } from '../domain/category.js';
import type { CategoryName } from '../domain/category.js';
import { renderSyntheticPhoto, seededRandom } from '../images/index.js';
import { PRODUCT_COLUMNS, IMAGE_COLUMNS } from './rows.js';
import { DECORATIONS, NOISE_WORDS, SAMPLE_CATEGORIES, SAMPLE_PLACES } from './sample-vocabulary.js';

export interface GenerateSampleOptions {
  listingsPerCategory: number;
  seed: number;
  /** Side of the square photos in pixels (the real sample uses 224). */
  photoSize?: number;
}

export interface SampleQuirks {
  badPriceListingId: string;
  strayCrListingIds: string[];
  duplicateListingId: string;
  duplicateOfId: string;
  noPhotoListingId: string;
  zeroBytePhotoId: string;
  textPhotoId: string;
  rejectedProductLine: number;
  orphanImageId: string;
}

export interface SampleCatalogue {
  productsPath: string;
  imagesPath: string;
  imageDir: string;
  quirks: SampleQuirks;
  /** What loadCatalogue should report for this catalogue. */
  expected: { listings: number; duplicates: number; productRejects: number; images: number; orphanImages: number; listingsWithoutImages: number };
}

interface SampleImage { id: string; createTime: string; seed: number; content?: 'empty' | 'text' }
interface SampleProduct {
  id: string; name: string; category: string; description: string; price: string; location: string;
  style: CategoryName; images: SampleImage[]; lineEnd?: string;
}

type Rand = () => number;
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
const int = (rand: Rand, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

function uuid(rand: Rand): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16));
  hex[12] = '4';
  hex[16] = '89ab'[Math.floor(rand() * 4)] as string;
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function formatPrice(pence: number): string {
  const pounds = Math.floor(pence / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `£${pounds}.${String(pence % 100).padStart(2, '0')}`;
}

const title = (w: string): string => w.charAt(0).toUpperCase() + w.slice(1);

function makeDescription(rand: Rand, own: readonly string[], other: readonly string[]): string {
  const words: string[] = [];
  for (let i = int(rand, 10, 22); i > 0; i--) {
    const r = rand();
    words.push(r < 0.45 ? pick(rand, own) : r < 0.5 ? pick(rand, other) : r < 0.55 ? pick(rand, ['a', 'x', '2']) : pick(rand, NOISE_WORDS));
    if (rand() < 0.08) words.push(pick(rand, DECORATIONS));
  }
  const sentence = words.join(' ');
  return title(sentence.replace(/ (\S+) (\S+) /, (_m, a: string, b: string) => ` ${a}. ${title(b)} `)) + '.';
}

function makeProduct(rand: Rand, style: CategoryName): SampleProduct {
  const spec = SAMPLE_CATEGORIES[style];
  const others = CATEGORY_NAMES.filter((c) => c !== style).flatMap((c) => SAMPLE_CATEGORIES[c].words);
  const location = pick(rand, SAMPLE_PLACES);
  const nameWords = [pick(rand, spec.words), pick(rand, spec.words), pick(rand, NOISE_WORDS)].map(title);
  const images = Array.from({ length: int(rand, 1, 3) }, () => ({
    id: uuid(rand),
    createTime: `2022-02-${int(rand, 26, 28)}`,
    seed: int(rand, 1, 2 ** 31 - 1),
  }));
  return {
    id: uuid(rand),
    name: `${nameWords.join(' ')} | in ${location} | Gumtree`,
    category: `${style} / ${pick(rand, spec.subcategories)}`,
    description: makeDescription(rand, spec.words, others),
    price: formatPrice(int(rand, 0, 1500) * 100 + (rand() < 0.3 ? int(rand, 1, 99) : 0)),
    location,
    style,
    images,
  };
}

/** pandas' minimal quoting with lineterminator "\n": "\r" is not special, so it stays unquoted. */
function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Plants the dirty rows described in the file comment; `products` is already in file order. */
function plantQuirks(rand: Rand, products: SampleProduct[]): Planted {
  const at = (i: number): SampleProduct => products[i] as SampleProduct;
  at(0).price = 'Free to collector';
  at(1).description = at(1).description.replace(/,/g, '').replace(' ', '\r'); // unquoted field with a bare \r
  at(2).description = `${at(2).description}\r, more\rdetails`; // quoted field with bare \r
  at(3).lineEnd = '\r\n'; // quoted location, then "\r" outside the closing quote
  const original = at(4);
  const duplicate: SampleProduct = {
    ...original,
    id: uuid(rand),
    images: [{ id: uuid(rand), createTime: [...original.images].sort((a, b) => a.createTime.localeCompare(b.createTime))[0]?.createTime ?? '2022-02-26', seed: int(rand, 1, 1e9) }],
  };
  at(5).images = [];
  const zeroByte = at(6).images[0] as SampleImage;
  zeroByte.content = 'empty';
  const text = at(7).images[0] as SampleImage;
  text.content = 'text';
  const rejected: SampleProduct = { ...makeProduct(rand, 'Other Goods'), id: '', images: [] };
  const rejectedAt = Math.min(8, products.length);
  const orphanImage: SampleImage = { id: uuid(rand), createTime: '2022-02-27', seed: int(rand, 1, 1e9) };
  return {
    rows: [...products.slice(0, rejectedAt), rejected, ...products.slice(rejectedAt), duplicate],
    // An image row whose listing is not in Products.csv at all.
    orphan: { productId: uuid(rand), image: orphanImage, style: 'Other Goods' },
    quirks: {
      badPriceListingId: at(0).id,
      strayCrListingIds: [at(1).id, at(2).id, at(3).id],
      duplicateListingId: duplicate.id,
      duplicateOfId: original.id,
      noPhotoListingId: at(5).id,
      zeroBytePhotoId: zeroByte.id,
      textPhotoId: text.id,
      // Line 1 is the header and no generated field holds a "\n", so row k sits on line k + 2.
      rejectedProductLine: rejectedAt + 2,
      orphanImageId: orphanImage.id,
    },
  };
}

interface Planted {
  rows: SampleProduct[];
  orphan: { productId: string; image: SampleImage; style: CategoryName };
  quirks: SampleQuirks;
}

async function writePhoto(file: string, image: SampleImage, style: CategoryName, size: number): Promise<void> {
  if (image.content === 'empty') return writeFile(file, Buffer.alloc(0));
  if (image.content === 'text') return writeFile(file, 'This is a text file with a .jpg name, not a photo.\n');
  const { palette, shape } = SAMPLE_CATEGORIES[style];
  await writeFile(file, await renderSyntheticPhoto({ seed: image.seed, palette, shape, width: size, height: size }));
}

/** Runs `task` over `items` with at most `limit` in flight (sharp already uses its own threads). */
async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Writes Products.csv, Images.csv and images/ into `dir` (created if needed; same seed, same bytes). */
export async function generateSampleCatalogue(dir: string, options: GenerateSampleOptions): Promise<SampleCatalogue> {
  const { listingsPerCategory: perCategory, seed } = options;
  const size = options.photoSize ?? 224;
  if (!Number.isInteger(perCategory) || perCategory < 1 || perCategory > 10_000) {
    throw new RangeError(`listingsPerCategory must be an integer from 1 to 10000; got ${perCategory}.`);
  }
  if (!Number.isInteger(seed)) throw new RangeError(`The sample seed must be an integer; got ${seed}.`);
  const rand = seededRandom(seed);
  const products = CATEGORY_NAMES.flatMap((style) => Array.from({ length: perCategory }, () => makeProduct(rand, style)));
  // Interleave categories so that the first N listings (a --limit) still cover every class.
  for (let i = products.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [products[i], products[j]] = [products[j] as SampleProduct, products[i] as SampleProduct];
  }
  const { rows, orphan, quirks }: Planted = plantQuirks(rand, products);

  const imageDir = path.join(dir, 'images');
  await mkdir(imageDir, { recursive: true });
  const photos = [
    ...rows.flatMap((p) => p.images.map((image) => ({ image, style: p.style }))),
    { image: orphan.image, style: orphan.style },
  ];
  await eachLimited(photos, 4, ({ image, style }) => writePhoto(path.join(imageDir, `${image.id}.jpg`), image, style, size));

  const productLines = [`,${PRODUCT_COLUMNS.join(',')}\n`];
  rows.forEach((p, i) => {
    const fields = [String(i), p.id, p.name, p.category, p.description, p.price, p.location];
    productLines.push(fields.map(csvField).join(',') + (p.lineEnd ?? '\n'));
  });
  const imageRows = [
    ...rows.flatMap((p) => p.images.map((image) => ({ productId: p.id, image }))),
    { productId: orphan.productId, image: orphan.image },
  ];
  const imageLines = [`,${IMAGE_COLUMNS.join(',')}\r\n`];
  imageRows.forEach(({ productId, image }, i) => {
    const ref = image.id.replace(/-/g, '').slice(0, 16);
    const fields = [String(i), image.id, productId, `https://example.invalid/sample/images/${image.id}.jpg`, ref, image.createTime];
    imageLines.push(fields.map(csvField).join(',') + '\r\n');
  });
  const productsPath = path.join(dir, 'Products.csv');
  const imagesPath = path.join(dir, 'Images.csv');
  // Photos first, CSVs last: a reader never sees rows whose photos are still being written.
  await writeFile(imagesPath, imageLines.join(''));
  await writeFile(productsPath, productLines.join(''));

  const kept = products.length;
  const images = products.reduce((n, p) => n + p.images.length, 0);
  return {
    productsPath,
    imagesPath,
    imageDir,
    quirks,
    expected: { listings: kept, duplicates: 1, productRejects: 1, images, orphanImages: 2, listingsWithoutImages: 1 },
  };
}
