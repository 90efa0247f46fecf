// Reads a catalogue (Products.csv + Images.csv + photo folder) as a stream of cleaned, de-duplicated
// listings, a chunk at a time, so that a catalogue of millions of listings never sits in memory whole
// (a loaded listing takes about 3 KB of heap, so a whole-catalogue array ran out of the default heap
// near a million listings). What stays in memory for the whole read is small per row: Images.csv's
// valid rows (listings need their images, and their earliest time, before de-duplication, and Images.csv
// is not sorted by listing), the duplicate keys' digests, and each listing id's fate.
//
// Every input record ends in exactly one place:
//   Products.csv record -> a chunk's listings | a chunk's duplicates | rejects
//   Images.csv record   -> a kept listing's images | rejects | orphanImages | outside the limit
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

export interface CatalogueOptions {
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

/** Up to `size` kept listings in file order, with the duplicates read among them. */
export interface CatalogueChunk {
  listings: Listing[];
  duplicates: DuplicateListing[];
}

/** What the read left over, known once every chunk has been read. */
export interface CatalogueTail {
  rejects: RowReject[];
  orphanImages: OrphanImage[];
  counts: CatalogueCounts;
}

type ProductFate = { fate: 'kept' } | { fate: 'duplicate'; of: string } | { fate: 'rejected'; line: number };
/** One object for every kept listing: the fates map holds an entry per listing id for the whole read. */
const KEPT: ProductFate = Object.freeze({ fate: 'kept' });

/**
 * What is held of an Images.csv row for the whole read: the fields listings and reports use. The URL and
 * reference columns (two thirds of a row) are dropped as soon as the row is read.
 */
type HeldImage = Pick<ImageRow, 'id' | 'productId' | 'line' | 'createTime'>;

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

function emptyCounts(): CatalogueCounts {
  return {
    productRecords: 0, listings: 0, duplicates: 0, productRejects: 0, imageRecords: 0, images: 0,
    imageRejects: 0, orphanImages: 0, imagesOutsideLimit: 0, listingsWithoutImages: 0, blankLines: 0, truncated: false,
  };
}

/**
 * One pass over a catalogue. `open` checks the paths and reads Images.csv; `chunks` then
 * streams Products.csv; `tail` is available once `chunks` has run to its end.
 */
export class CatalogueReader {
  private readonly fates = new Map<string, ProductFate>();
  private done = false;
  private started = false;

  private constructor(
    private readonly options: CatalogueOptions,
    private readonly imagesByProduct: Map<string, HeldImage[]>,
    private readonly rejects: RowReject[],
    private readonly counts: CatalogueCounts,
  ) {}

  static async open(options: CatalogueOptions): Promise<CatalogueReader> {
    const { productsPath, imagesPath, imageDir, limit } = options;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw new RangeError(`The listing limit must be a positive integer; got ${limit}. Leave it out to load everything.`);
    }
    await requirePath(productsPath, 'file', 'products file');
    await requirePath(imagesPath, 'file', 'images file');
    await requirePath(imageDir, 'directory', 'image folder');
    const counts = emptyCounts();
    const rejects: RowReject[] = [];
    const imagesByProduct = await readImagesByProduct(imagesPath, rejects, counts);
    return new CatalogueReader(options, imagesByProduct, rejects, counts);
  }

  /** A listing's photos (valid image rows of its id, in Images.csv order), for kept and duplicate listings alike. */
  photosOf(listingId: string): CatalogueImage[] {
    return (this.imagesByProduct.get(listingId) ?? []).map((row) => this.toImage(row));
  }

  private toImage(row: HeldImage): CatalogueImage {
    return { id: row.id, listingId: row.productId, path: path.join(this.options.imageDir, `${row.id}.jpg`), createTime: row.createTime };
  }

  /** Kept listings and duplicates in file order, `size` kept listings per chunk (the last may be smaller). */
  async *chunks(size: number): AsyncGenerator<CatalogueChunk> {
    if (this.started) throw new Error('A CatalogueReader reads its catalogue once; open another for a second pass.');
    this.started = true;
    const { productsPath, limit } = this.options;
    const { counts, rejects, fates } = this;
    const firstLineById = new Map<string, number>();
    const deduper = new Deduper();
    let chunk: CatalogueChunk = { listings: [], duplicates: [] };
    for await (const result of readProductRows(productsPath)) {
      if (result.ok === 'blank') {
        counts.blankLines++;
        continue;
      }
      if (limit !== undefined && counts.listings >= limit) {
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
      const listing = buildListing(row, this.imagesByProduct.get(row.id) ?? []);
      const duplicateOf = deduper.check(listing);
      if (duplicateOf === null) {
        chunk.listings.push(listing);
        counts.listings++;
        if (listing.imageIds.length === 0) counts.listingsWithoutImages++;
        fates.set(row.id, KEPT);
      } else {
        chunk.duplicates.push({ id: row.id, duplicateOf, line: row.line, listing });
        counts.duplicates++;
        fates.set(row.id, { fate: 'duplicate', of: duplicateOf });
      }
      if (chunk.listings.length >= size) {
        yield chunk;
        chunk = { listings: [], duplicates: [] };
      }
    }
    if (chunk.listings.length > 0 || chunk.duplicates.length > 0) yield chunk;
    this.done = true;
  }

  /** The rows rejected so far, in the order read (Images.csv's are all known once the reader is open). */
  rejectsSoFar(): readonly RowReject[] {
    return this.rejects;
  }

  /** Rejected rows, orphan images and counts; only once `chunks` has been read to its end. */
  tail(): CatalogueTail {
    if (!this.done) throw new Error('The catalogue tail is known only after every chunk has been read.');
    const orphanImages = this.placeImages();
    return { rejects: this.rejects, orphanImages, counts: this.counts };
  }

  /** The image rows attached to kept listings, in Images.csv order; only after every chunk has been read. */
  attachedImages(): CatalogueImage[] {
    if (!this.done) throw new Error('The attached images are known only after every chunk has been read.');
    return this.rowsInFileOrder().filter((row) => this.fates.get(row.productId)?.fate === 'kept').map((row) => this.toImage(row));
  }

  private rowsInFileOrder(): HeldImage[] {
    return [...this.imagesByProduct.values()].flat().sort((a, b) => a.line - b.line);
  }

  /** Counts the image rows that reached a kept listing, and says why each of the others did not. */
  private placeImages(): OrphanImage[] {
    const { counts, fates } = this;
    const orphanImages: OrphanImage[] = [];
    let placed = 0;
    counts.imagesOutsideLimit = 0;
    for (const row of this.rowsInFileOrder()) {
      const fate = fates.get(row.productId);
      if (fate?.fate === 'kept') {
        placed++;
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
    counts.images = placed;
    counts.orphanImages = orphanImages.length;
    return orphanImages;
  }
}

/** Reads Images.csv whole: listings need their images (and earliest time) before de-duplication. */
async function readImagesByProduct(imagesPath: string, rejects: RowReject[], counts: CatalogueCounts): Promise<Map<string, HeldImage[]>> {
  const byProduct = new Map<string, HeldImage[]>();
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
    const held: HeldImage = { id: row.id, productId: row.productId, line: row.line, createTime: row.createTime };
    const list = byProduct.get(row.productId);
    if (list) list.push(held);
    else byProduct.set(row.productId, [held]);
  }
  return byProduct;
}
