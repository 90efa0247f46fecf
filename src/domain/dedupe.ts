// Duplicate listings (DESIGN.md section 3): same name, location, description, time and price keep the
// first occurrence. Names, locations and descriptions compare by their raw text (in Unicode NFC); the time is the
// listing's earliest image create_time (Products.csv has no time column); prices compare by parsed
// value when they parse ("£5" equals "£5.00") and by raw text otherwise.
import { createHash } from 'node:crypto';
import { nfc } from './listing.js';
import type { Listing } from './listing.js';

export type DedupeFields = Pick<Listing, 'id' | 'nameRaw' | 'location' | 'descriptionRaw' | 'createTime' | 'price' | 'priceRaw'>;

/** A digest of the duplicate key: fixed size (44 base64 characters), so a large catalogue's seen-set stays small. */
export function duplicateKey(listing: DedupeFields): string {
  const price = listing.price === null ? ['raw', nfc(listing.priceRaw)] : ['value', listing.price];
  // NFC: canonically equal text (precomposed or combining accents) is the same text.
  const key = JSON.stringify([nfc(listing.nameRaw), nfc(listing.location), nfc(listing.descriptionRaw), listing.createTime, price]);
  return createHash('sha256').update(key, 'utf8').digest('base64');
}

/** Streaming form: feed listings in file order; each call says which earlier listing it duplicates. */
export class Deduper {
  private readonly firstByKey = new Map<string, string>();

  /** Returns the id of the first listing with the same key, or null when this one is the first. */
  check(listing: DedupeFields): string | null {
    const key = duplicateKey(listing);
    const first = this.firstByKey.get(key);
    if (first !== undefined) return first;
    this.firstByKey.set(key, listing.id);
    return null;
  }
}

export interface DedupeResult<T> {
  kept: T[];
  duplicates: { listing: T; duplicateOf: string }[];
}

/** Keeps the first occurrence of each duplicate key, in input order. */
export function dedupeListings<T extends DedupeFields>(listings: Iterable<T>): DedupeResult<T> {
  const deduper = new Deduper();
  const result: DedupeResult<T> = { kept: [], duplicates: [] };
  for (const listing of listings) {
    const duplicateOf = deduper.check(listing);
    if (duplicateOf === null) result.kept.push(listing);
    else result.duplicates.push({ listing, duplicateOf });
  }
  return result;
}
