// Catalogue ingestion: the research export (Products.csv, Images.csv, images/) read into listings.
export { CatalogueFileError, normaliseField, readCsvRecords } from './csv-records.js';
export type { CsvItem, ReadCsvOptions } from './csv-records.js';
export { IMAGE_COLUMNS, PRODUCT_COLUMNS, readImageRows, readProductRows } from './rows.js';
export type { RowReject, RowResult } from './rows.js';
export { loadCatalogue } from './load-catalogue.js';
export type {
  Catalogue,
  CatalogueCounts,
  CatalogueImage,
  DuplicateListing,
  LoadCatalogueOptions,
  OrphanCause,
  OrphanImage,
} from './load-catalogue.js';
export { assertAccounted, findMissingPhotos, summariseCatalogue } from './report.js';
export { generateSampleCatalogue } from './generate-sample.js';
export type { GenerateSampleOptions, SampleCatalogue, SampleQuirks } from './generate-sample.js';
