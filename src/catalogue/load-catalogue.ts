// Loads a whole catalogue (Products.csv + Images.csv + photo folder) into cleaned, de-duplicated
// listings. Every input record ends in exactly one place:
//   Products.csv record -> listings | duplicates | rejects
//   Images.csv record   -> images (attached to a kept listing) | rejects | orphanImages | outside the limit
// Orphan images are valid image rows without a kept listing. They are reported on their own, not as
// rejects, because nothing is wrong with the row itself: its listing is missing, was rejected, or is a
// duplicate. Images of a duplicate listing are not moved to the listing it duplicates (the research
// project joined images to the de-duplicated products, which drops them too); they are reported with
// cause 'listing-duplicate'.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Deduper } from '../domain/dedupe.js';
import { buildListing } from '../domain/listing.js';
import type { ImageRow, Listing } from '../domain/listing.js';
import { CatalogueFileError } from './csv-records.js';
import { readImageRows, readProductRows } from './rows.js';
import type { RowReject } from './rows.js';

export interface LoadCatalogueOptions {
  productsPath: string;
  imagesPath: string;
  imageDir: string;
  /** Keep only the first N listings (after de-duplication) and their images. */
  limit?: number;
}

export interface CatalogueImage {
  id: string;
  listingId: string;
  /** <imageDir>/<id>.jpg; whether the file exists is checked by findMissingPhotos or the image step. */
  path: string;
  createTime: string | null;
}

export interface DuplicateListing {
  id: string;
  duplicateOf: string;
  line: number;
  /** The cleaned duplicate itself, so it can be stored as skipped with its reason. */
  listing: Listing;
}

export type OrphanCause = 'no-listing' | 'listing-rejected' | 'listing-duplicate';

export interface OrphanImage {
  id: string;
  productId: string;
  line: number;
  cause: OrphanCause;
  reason: string;
}

export interface CatalogueCounts {
  /** Products.csv records after the header (blank lines excluded). */
  productRecords: number;
  listings: number;
  duplicates: number;
  productRejects: number;
  imageRecords: number;
  /** Image rows attached to a kept listing. */
  images: number;
  imageRejects: number;
  orphanImages: number;
  /** Image rows of listings past `limit` (zero without a limit). */
  imagesOutsideLimit: number;
  listingsWithoutImages: number;
  blankLines: number;
  /** True when `limit` stopped the read of Products.csv before its end. */
  truncated: boolean;
}

export interface Catalogue {
  /** Kept listings in file order, each with its image ids in Images.csv order. */
  listings: Listing[];
  images: Map<string, CatalogueImage>;
  rejects: RowReject[];
  duplicates: DuplicateListing[];
  orphanImages: OrphanImage[];
  counts: CatalogueCounts;
}

type ProductFate = { fate: 'kept' } | { fate: 'duplicate'; of: string } | { fate: 'rejected'; line: number };

async function requirePath(p: string, kind: 'file' | 'directory', what: string): Promise<void> {
  const info = await stat(p).catch(() => null);
  const ok = info !== null && (kind === 'file' ? info.isFile() : info.isDirectory());
  if (!ok) throw new CatalogueFileError(`The ${what} ${p} is not an existing ${kind}; check the catalogue paths.`);
}

/** A reject when this row's id was already seen (the first row keeps it); else records the id. */
function repeatedIdReject(firstLineById: Map<string, number>, row: { id: string; line: number }, file: string, kind: 'listing' | 'image'): RowReject | null {
  const earlier = firstLineById.get(row.id);
  if (earlier === undefined) {
    firstLineById.set(row.id, row.line);
    return null;
  }
  return {
    file,
    line: row.line,
    id: row.id,
    reason: `The ${kind} id ${row.id} is already used on line ${earlier}; ${kind} ids must be unique, so this row was skipped.`,
  };
}

/** Reads Images.csv whole: listings need their images (and earliest time) before de-duplication. */
async function loadImageRows(imagesPath: string, rejects: RowReject[], counts: CatalogueCounts): Promise<Map<string, ImageRow[]>> {
  const byProduct = new Map<string, ImageRow[]>();
  const firstLineById = new Map<string, number>();
  for await (const result of readImageRows(imagesPath)) {
    if (result.ok === 'blank') {
      counts.blankLines++;
      continue;
    }
    counts.imageRecords++;
    if (!result.ok) {
      rejects.push(result.reject);
      counts.imageRejects++;
      continue;
    }
    const row = result.row;
    const repeat = repeatedIdReject(firstLineById, row, imagesPath, 'image');
    if (repeat) {
      rejects.push(repeat);
      counts.imageRejects++;
      continue;
    }
    const list = byProduct.get(row.productId);
    if (list) list.push(row);
    else byProduct.set(row.productId, [row]);
  }
  return byProduct;
}

export async function loadCatalogue(options: LoadCatalogueOptions): Promise<Catalogue> {
  const { productsPath, imagesPath, imageDir, limit } = options;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new RangeError(`The listing limit must be a positive integer; got ${limit}. Leave it out to load everything.`);
  }
  await requirePath(productsPath, 'file', 'products file');
  await requirePath(imagesPath, 'file', 'images file');
  await requirePath(imageDir, 'directory', 'image folder');

  const counts: CatalogueCounts = {
    productRecords: 0, listings: 0, duplicates: 0, productRejects: 0, imageRecords: 0, images: 0,
    imageRejects: 0, orphanImages: 0, imagesOutsideLimit: 0, listingsWithoutImages: 0, blankLines: 0, truncated: false,
  };
  const rejects: RowReject[] = [];
  const imagesByProduct = await loadImageRows(imagesPath, rejects, counts);

  const listings: Listing[] = [];
  const duplicates: DuplicateListing[] = [];
  const fates = new Map<string, ProductFate>();
  const firstLineById = new Map<string, number>();
  const deduper = new Deduper();
  for await (const result of readProductRows(productsPath)) {
    if (result.ok === 'blank') {
      counts.blankLines++;
      continue;
    }
    if (limit !== undefined && listings.length >= limit) {
      counts.truncated = true;
      break;
    }
    counts.productRecords++;
    if (!result.ok) {
      rejects.push(result.reject);
      counts.productRejects++;
      if (result.reject.id !== undefined && !fates.has(result.reject.id)) {
        fates.set(result.reject.id, { fate: 'rejected', line: result.reject.line });
      }
      continue;
    }
    const row = result.row;
    const repeat = repeatedIdReject(firstLineById, row, productsPath, 'listing');
    if (repeat) {
      rejects.push(repeat);
      counts.productRejects++;
      continue;
    }
    const listing = buildListing(row, imagesByProduct.get(row.id) ?? []);
    const duplicateOf = deduper.check(listing);
    if (duplicateOf === null) {
      listings.push(listing);
      fates.set(row.id, { fate: 'kept' });
    } else {
      duplicates.push({ id: row.id, duplicateOf, line: row.line, listing });
      fates.set(row.id, { fate: 'duplicate', of: duplicateOf });
    }
  }
  counts.listings = listings.length;
  counts.duplicates = duplicates.length;
  counts.listingsWithoutImages = listings.filter((l) => l.imageIds.length === 0).length;

  const { images, orphanImages } = placeImages(imagesByProduct, fates, imageDir, counts);
  return { listings, images, rejects, duplicates, orphanImages, counts };
}

/** Attaches each valid image row to its kept listing, or says why it has none. */
function placeImages(
  imagesByProduct: Map<string, ImageRow[]>,
  fates: Map<string, ProductFate>,
  imageDir: string,
  counts: CatalogueCounts,
): { images: Map<string, CatalogueImage>; orphanImages: OrphanImage[] } {
  const images = new Map<string, CatalogueImage>();
  const orphanImages: OrphanImage[] = [];
  const rows = [...imagesByProduct.values()].flat().sort((a, b) => a.line - b.line);
  for (const row of rows) {
    const fate = fates.get(row.productId);
    if (fate?.fate === 'kept') {
      images.set(row.id, { id: row.id, listingId: row.productId, path: path.join(imageDir, `${row.id}.jpg`), createTime: row.createTime });
      continue;
    }
    if (fate === undefined && counts.truncated) {
      counts.imagesOutsideLimit++;
      continue;
    }
    const orphan = { id: row.id, productId: row.productId, line: row.line };
    if (fate === undefined) {
      orphanImages.push({ ...orphan, cause: 'no-listing', reason: `No listing with id ${row.productId} is in the products file, so the image was not used.` });
    } else if (fate.fate === 'rejected') {
      orphanImages.push({ ...orphan, cause: 'listing-rejected', reason: `Its listing ${row.productId} (line ${fate.line}) was rejected, so the image was not used.` });
    } else {
      orphanImages.push({ ...orphan, cause: 'listing-duplicate', reason: `Its listing ${row.productId} duplicates ${fate.of} and was dropped, so the image was not used.` });
    }
  }
  counts.images = images.size;
  counts.orphanImages = orphanImages.length;
  return { images, orphanImages };
}
