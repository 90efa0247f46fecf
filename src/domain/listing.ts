// The listing as the pipeline sees it: validated source rows in, one cleaned Listing out.
import { createHash } from 'node:crypto';
import { topLevelLabel } from './category.js';
import { parsePrice } from './price.js';
import { cleanModelText, stripGumtreeSuffix } from './text.js';

/**
 * Listing and image ids end up in job ids, database keys and file names (<imageDir>/<id>.jpg), so they
 * are restricted to letters, digits, "-" and "_" (UUIDs fit). All-digit ids are refused because BullMQ
 * rejects integer-looking custom job ids.
 */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id) && !/^\d+$/.test(id);
}

/** A validated Products.csv row (a listing's source fields plus where they came from). */
export interface ProductRow extends ListingSource {
  /** 1-based physical line where its record starts. */
  line: number;
  /** The unnamed first column (a pandas index in the research export); kept for reference only. */
  sourceIndex: string;
}

/** A validated Images.csv row. */
export interface ImageRow {
  line: number;
  sourceIndex: string;
  id: string;
  productId: string;
  bucketLink: string;
  imageRef: string;
  /** ISO date or date-time as written in the file; null when the cell is empty. */
  createTime: string | null;
}

/** A cleaned listing: raw fields kept beside the cleaned ones. */
export interface Listing {
  id: string;
  nameRaw: string;
  /** Display name: the " | in <location> | Gumtree" tail removed. */
  name: string;
  descriptionRaw: string;
  /** Parsed price; null when the raw price is missing or unparseable (never 0 for "unknown"). */
  price: number | null;
  priceRaw: string;
  location: string;
  categoryPath: string | null;
  /** Top level of the category path; null for unlabelled listings. */
  label: string | null;
  /** cleanModelText(name + " " + description): what the text models read. */
  modelText: string;
  /** Earliest create_time of the listing's images; null when it has none. */
  createTime: string | null;
  imageIds: string[];
  contentHash: string;
}

/** The source fields of a listing, as they arrive from the catalogue or the webhook. */
export interface ListingSource {
  id: string;
  productName: string;
  /** The category path; '' when the row has none. */
  category: string;
  description: string;
  price: string;
  location: string;
}

export interface ListingImageRef {
  id: string;
  createTime: string | null;
}

export interface ContentHashFields {
  id: string;
  nameRaw: string;
  categoryPath: string | null;
  descriptionRaw: string;
  priceRaw: string;
  location: string;
  imageIds: readonly string[];
}

/**
 * sha256 (hex) over the fields that decide what the pipeline computes: every raw field and the image
 * ids in order. A versioned JSON array is the canonical form: field order is fixed and JSON string
 * escaping is deterministic, so the hash is stable across runs and machines. create_time is left out:
 * it only feeds duplicate detection. The category (the label) is in although inference does not read
 * it, so a label correction reprocesses that listing needlessly; taking it out would change every stored
 * hash and reprocess the whole catalogue once, so it stays until the hash's next version. Photo bytes are not in: a photo file replaced under the same image id is not
 * seen as a change by a backfill (webhook photos can carry a producer hash: images.content_hash).
 */
export function listingContentHash(fields: ContentHashFields): string {
  // Text is compared in Unicode NFC: "é" typed as one code point or as e + combining accent is the same
  // text, and must not read as an edit (a needless reprocess) or escape duplicate detection. NFC leaves
  // text already in NFC (nearly all input) unchanged, so its stored hashes stay valid.
  const canonical = JSON.stringify([
    'listing/v1',
    fields.id,
    nfc(fields.nameRaw),
    fields.categoryPath === null ? null : nfc(fields.categoryPath),
    nfc(fields.descriptionRaw),
    nfc(fields.priceRaw),
    nfc(fields.location),
    [...fields.imageIds],
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** Canonical composition (NFC) for comparing text; compatibility forms ("ﬁ", full-width) stay distinct. */
export function nfc(text: string): string {
  return text.normalize('NFC');
}

/** A date-time with no zone designator ("2022-02-26T10:00:00"): ISO 8601 leaves its zone open. */
const NO_ZONE = /T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/;

/**
 * Milliseconds since the epoch of a catalogue create_time (NaN when it does not parse). A time without
 * a zone is read as UTC, as a date alone already is: JavaScript would read it in the process's local
 * zone, so the stored time (and which photo is earliest) would depend on where the backfill ran.
 */
export function createTimeMs(time: string): number {
  return Date.parse(NO_ZONE.test(time) ? `${time}Z` : time);
}

/** The earliest parseable time among the images (ties keep the first); null when there is none. */
export function earliestCreateTime(images: readonly ListingImageRef[]): string | null {
  let best: string | null = null;
  let bestMs = Infinity;
  for (const image of images) {
    if (image.createTime === null) continue;
    const ms = createTimeMs(image.createTime);
    if (Number.isNaN(ms)) continue;
    if (ms < bestMs) {
      best = image.createTime;
      bestMs = ms;
    }
  }
  return best;
}

/** Applies the cleaning rules of DESIGN.md section 3 to one listing and its images (in order). */
export function buildListing(source: ListingSource, images: readonly ListingImageRef[]): Listing {
  const categoryPath = source.category.trim() === '' ? null : source.category;
  const name = stripGumtreeSuffix(source.productName);
  const imageIds = images.map((i) => i.id);
  return {
    id: source.id,
    nameRaw: source.productName,
    name,
    descriptionRaw: source.description,
    price: parsePrice(source.price),
    priceRaw: source.price,
    location: source.location,
    categoryPath,
    label: categoryPath === null ? null : topLevelLabel(categoryPath),
    // The display name, not the raw one: the scraped tail only adds the location and "gumtree".
    modelText: cleanModelText(`${name} ${source.description}`),
    createTime: earliestCreateTime(images),
    imageIds,
    contentHash: listingContentHash({
      id: source.id,
      nameRaw: source.productName,
      categoryPath,
      descriptionRaw: source.description,
      priceRaw: source.price,
      location: source.location,
      imageIds,
    }),
  };
}
