// The storage module's public surface: the only place outside src/db that touches Postgres goes through here.
export { createDb, type Db, type DbConfig, type CreateDbOptions, type Queryable, type QueryResult, type Row } from './pool.js';
export { DbUnavailableError, redactUrl } from './errors.js';
export { migrate, MIGRATIONS_TABLE, type MigrateOptions, type MigrateResult } from './migrate.js';
export type { Vector } from './vectors.js';
export * from './listings-repo.js';
export * from './images-repo.js';
export * from './runs-repo.js';
export * from './embeddings-repo.js';
export * from './predictions-repo.js';
