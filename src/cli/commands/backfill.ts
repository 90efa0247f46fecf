// `backfill`: push a catalogue through the pipeline, showing progress, and print a summary. Rerunning
// it on an unchanged catalogue does no new work; a changed listing alone is reprocessed.
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { migrate } from '../../db/migrate.js';
import { createDb } from '../../db/pool.js';
import { createLogger } from '../../logging.js';
import { runBackfill, type BackfillSummary } from '../../pipeline/backfill.js';
import { connectRedis } from '../../queues/connection.js';
import { ListingFlowProducer } from '../../queues/flows.js';
import { QueueAdmin } from '../../queues/queue-admin.js';
import { resolveCatalogue } from '../default-catalogue.js';
import { printSummary } from '../output.js';
import { backfillProgressBar } from '../progress.js';
import { parseNumber } from '../options.js';

export interface BackfillCliOptions {
  catalogue?: string;
  products?: string;
  images?: string;
  imageDir?: string;
  limit?: number;
  wait: boolean;
  progress: boolean;
  json?: boolean;
}

export function formatBackfillSummary(s: BackfillSummary, label: string): string {
  const o = s.outcome;
  const reasons = [
    ...s.topFailureReasons.images.map((r) => `  photo ${r.reason}: ${r.count}`),
    ...s.topFailureReasons.listings.map((r) => `  listing: ${r.reason} (${r.count})`),
  ];
  return [
    `Backfill run ${s.runId} of ${label}`,
    `  catalogue: ${s.catalogue.listings} listings, ${s.catalogue.duplicates} duplicates, ${s.catalogue.rejectedRows} rejected rows, ${s.catalogue.images} photos, ${s.catalogue.orphanImages} orphan photo rows`,
    `  new work: ${s.newWork} listing(s) enqueued, ${s.unchanged} unchanged`,
    `  this run: listings processed ${o.listings.processed}, failed ${o.listings.failed}, skipped ${o.listings.skipped}, pending ${o.listings.pending}; ` +
      `photos cleaned ${o.images.cleaned}, failed ${o.images.failed}, skipped ${o.images.skipped}`,
    `  database: listings ${JSON.stringify(s.totals.listings)}, photos ${JSON.stringify(s.totals.images)}`,
    ...(reasons.length ? ['  top failure reasons:', ...reasons] : []),
    `  elapsed ${s.elapsedSeconds.toFixed(1)} s, ${s.listingsPerSecond.toFixed(1)} listings/s, ${s.photosPerSecond.toFixed(1)} photos/s`,
    ...(s.incomplete ? [`  INCOMPLETE: ${s.incomplete}`] : []),
  ].join('\n');
}

export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .description('Enqueue a catalogue (Products.csv, Images.csv, photo folder) and wait for the pools to process it.')
    .option('--catalogue <dir>', 'folder holding Products.csv, Images.csv and images/')
    .option('--products <file>', 'Products.csv')
    .option('--images <file>', 'Images.csv')
    .option('--image-dir <dir>', 'folder of <image id>.jpg photos')
    .option('--limit <n>', 'only the first N listings', parseNumber('--limit', 'whole>=1'))
    .option('--no-wait', 'return once enqueued, without waiting for the pools (a catalogue over BACKFILL_MAX_QUEUED_JOBS still waits for room)')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the summary as one JSON object on the last line')
    .action(async (opts: BackfillCliOptions) => {
      const config = loadConfig();
      const log = createLogger(config, 'backfill');
      const paths = await resolveCatalogue(config, opts);
      await migrate(config);
      const db = createDb(config, { applicationName: 'backfill' });
      const redis = await connectRedis(config, 'producer');
      const producer = new ListingFlowProducer(redis, config);
      const admin = new QueueAdmin(redis, config);
      const bar = backfillProgressBar(opts.progress && !opts.json);
      try {
        const summary = await runBackfill(
          { db, producer, admin, log },
          { ...paths, limit: opts.limit, wait: opts.wait, maxQueuedJobs: config.BACKFILL_MAX_QUEUED_JOBS, onProgress: (p) => bar.update(p) },
        );
        bar.stop();
        printSummary(opts, formatBackfillSummary(summary, paths.label), { source: paths.label, ...summary });
        if (summary.incomplete) process.exitCode = 2;
      } finally {
        bar.stop();
        await producer.close();
        await admin.close();
        redis.disconnect();
        await db.close();
      }
    });
}
