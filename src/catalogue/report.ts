// Read-only checks and a printable summary of a loaded catalogue, for the CLI and for people.
import { stat } from 'node:fs/promises';
import type { Catalogue, CatalogueImage } from './load-catalogue.js';

/** Image rows whose photo file is missing or is not a regular file (checked `concurrency` at a time). */
export async function findMissingPhotos(images: Iterable<CatalogueImage>, concurrency = 16): Promise<CatalogueImage[]> {
  const all = [...images];
  const missing = new Array<boolean>(all.length).fill(false);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < all.length) {
      const i = next++;
      const info = await stat((all[i] as CatalogueImage).path).catch(() => null);
      missing[i] = info === null || !info.isFile();
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, all.length)) }, worker));
  return all.filter((_, i) => missing[i]);
}

/** Checks that every input record is accounted for; throws if the bookkeeping ever disagrees. */
export function assertAccounted(catalogue: Catalogue): void {
  const c = catalogue.counts;
  const products = c.listings + c.duplicates + c.productRejects;
  const images = c.images + c.imageRejects + c.orphanImages + c.imagesOutsideLimit;
  if (products !== c.productRecords || images !== c.imageRecords) {
    throw new Error(
      `The catalogue bookkeeping does not add up (products ${products} of ${c.productRecords}, images ${images} of ` +
        `${c.imageRecords}); this is a bug in the catalogue loader, please report it with the input files.`,
    );
  }
}

/** A few lines a person can read: what was kept, dropped and why, by count. */
export function summariseCatalogue(catalogue: Catalogue, missingPhotos?: number): string {
  const c = catalogue.counts;
  const lines = [
    `products: ${c.productRecords} records -> ${c.listings} listings, ${c.duplicates} duplicates, ${c.productRejects} rejected` +
      (c.truncated ? ' (stopped at the listing limit)' : ''),
    `images:   ${c.imageRecords} records -> ${c.images} attached, ${c.orphanImages} orphaned, ${c.imageRejects} rejected` +
      (c.imagesOutsideLimit > 0 ? `, ${c.imagesOutsideLimit} beyond the limit` : ''),
    `listings without images: ${c.listingsWithoutImages}`,
  ];
  if (missingPhotos !== undefined) lines.push(`photos missing on disk: ${missingPhotos}`);
  if (c.blankLines > 0) lines.push(`blank lines ignored: ${c.blankLines}`);
  for (const r of catalogue.rejects.slice(0, 20)) lines.push(`  rejected ${r.file}:${r.line}: ${r.reason}`);
  if (catalogue.rejects.length > 20) lines.push(`  ... and ${catalogue.rejects.length - 20} more rejected rows`);
  return lines.join('\n');
}
