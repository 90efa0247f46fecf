// The domain rules: pure functions and types, no I/O.
export { parsePrice } from './price.js';
export { cleanModelText, stripGumtreeSuffix } from './text.js';
export {
  CATEGORY_NAMES,
  DEFAULT_CATEGORY_TABLE,
  UnknownCategoryError,
  buildCategoryTable,
  categoryCode,
  categoryName,
  isCategoryName,
  topLevelLabel,
} from './category.js';
export type { CategoryName, CategoryTable } from './category.js';
export { ID_PATTERN, buildListing, createTimeMs, earliestCreateTime, isValidId, listingContentHash } from './listing.js';
export type { ContentHashFields, ImageRow, Listing, ListingImageRef, ListingSource, ProductRow } from './listing.js';
export { Deduper, dedupeListings, duplicateKey } from './dedupe.js';
export type { DedupeFields, DedupeResult } from './dedupe.js';
