// `setup`: fit the offline default encoders from the stored catalogue (no download), make them
// current and embed every stored listing and photo with them.
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { migrate } from '../../db/migrate.js';
import { createDb } from '../../db/pool.js';
import { createLogger } from '../../logging.js';
import { fitEncodersFromDb, type FitEncodersResult } from '../../training/fit-encoders.js';
import { printSummary } from '../output.js';

export function formatFit(r: FitEncodersResult): string {
  return [
    `Offline encoders fitted on ${r.fittedListings} labelled listings and ${r.fittedPhotos} photos in ${r.seconds.fit.toFixed(1)} s:`,
    `  text encoder  ${r.textVersion}`,
    `  image encoder ${r.imageVersion}`,
    `  embedded ${r.embeddedListings} listings and ${r.embeddedPhotos} photos in ${r.seconds.embed.toFixed(1)} s`,
  ].join('\n');
}

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('Fit the offline text and image encoders from the stored catalogue and make them current.')
    .option('--no-holdout', 'fit on every labelled listing (default: keep the 10% test split of product ids out)')
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: { holdout: boolean; json?: boolean }) => {
      const config = loadConfig();
      const log = createLogger(config, 'setup');
      await migrate(config);
      const db = createDb(config, { applicationName: 'setup' });
      try {
        const r = await fitEncodersFromDb({ db, config, log }, { holdout: opts.holdout, onStage: (s) => !opts.json && process.stderr.write(`${s}\n`) });
        printSummary(opts, formatFit(r), r);
      } finally {
        await db.close();
      }
    });
}
