// `migrate`: applies pending SQL migrations (idempotent, safe from several processes at once).
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { migrate } from '../../db/migrate.js';
import { printSummary, type OutputOptions } from '../output.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('Apply pending database migrations from migrations/ (safe to run twice or concurrently).')
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: OutputOptions) => {
      const config = loadConfig();
      const { applied } = await migrate(config);
      const human = applied.length
        ? `Applied ${applied.length} migration(s) to schema ${config.DB_SCHEMA}: ${applied.join(', ')}`
        : `Schema ${config.DB_SCHEMA} is up to date; nothing to apply.`;
      printSummary(opts, human, { schema: config.DB_SCHEMA, applied });
    });
}
