// The storage module's public surface. migrate() is deliberately not re-exported: it loads
// node-pg-migrate (and its file loaders), which workers never need; import it from './migrate.js'.
export { createDb, type Db, type DbConfig, type CreateDbOptions, type Queryable, type QueryResult, type Row } from './pool.js';
export { DbStatementTimeoutError, DbUnavailableError, redactUrl } from './errors.js';
export type { Vector } from './vectors.js';
export * from './listings-repo.js';
export * from './images-repo.js';
export * from './runs-repo.js';
export * from './embeddings-repo.js';
export * from './predictions-repo.js';
