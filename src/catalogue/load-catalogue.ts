// Loads a whole catalogue into memory: for evaluation, the benches and the tests, which want every
// listing at hand. The backfill streams instead (CatalogueReader), so that a catalogue of any size fits;
// both go through the same reader, so they clean, de-duplicate and account for rows identically.
import { CatalogueReader } from './catalogue-reader.js';
import type { CatalogueCounts, CatalogueImage, CatalogueOptions, DuplicateListing, OrphanImage } from './catalogue-reader.js';
import type { Listing } from '../domain/listing.js';
import type { RowReject } from './rows.js';

export type { CatalogueCounts, CatalogueImage, DuplicateListing, OrphanCause, OrphanImage } from './catalogue-reader.js';
export type LoadCatalogueOptions = CatalogueOptions;

export interface Catalogue {
  /** Kept listings in file order, each with its image ids in Images.csv order. */
  listings: Listing[];
  /** The image rows attached to kept listings, by image id. */
  images: Map<string, CatalogueImage>;
  rejects: RowReject[];
  duplicates: DuplicateListing[];
  orphanImages: OrphanImage[];
  counts: CatalogueCounts;
}

/** Chunk size of the in-memory load: any size gives the same result; this one keeps chunks few. */
const LOAD_CHUNK = 10_000;

export async function loadCatalogue(options: LoadCatalogueOptions): Promise<Catalogue> {
  const reader = await CatalogueReader.open(options);
  const listings: Listing[] = [];
  const duplicates: DuplicateListing[] = [];
  for await (const chunk of reader.chunks(LOAD_CHUNK)) {
    listings.push(...chunk.listings);
    duplicates.push(...chunk.duplicates);
  }
  const { rejects, orphanImages, counts } = reader.tail();
  const images = new Map(reader.attachedImages().map((image) => [image.id, image] as const));
  return { listings, images, rejects, duplicates, orphanImages, counts };
}
