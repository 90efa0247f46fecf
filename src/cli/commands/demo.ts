// `demo` (`npm start`): the main job on a fresh machine in one command. Migrates, starts the three
// pools, backfills the default catalogue (the real sample when present, else a generated one), fits
// the offline encoders and trains the classifier when none are current, classifies everything, scores
// the held-out split, and stops the pools. Rerunning it does only new work. --no-holdout fits and
// trains on every labelled listing instead (the production models) and skips the held-out scores.
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { migrate } from '../../db/migrate.js';
import { createDb } from '../../db/pool.js';
import { createLogger } from '../../logging.js';
import { currentEntry, readManifest } from '../../models/load.js';
import type { ManifestEntry } from '../../models/manifest-types.js';
import { runBackfill } from '../../pipeline/backfill.js';
import { startAllPools, stopPools } from '../../pipeline/supervisor.js';
import { connectRedis } from '../../queues/connection.js';
import { ListingFlowProducer } from '../../queues/flows.js';
import { QueueAdmin } from '../../queues/queue-admin.js';
import { evaluateCatalogue, sawTestSplit, type EvaluateResult } from '../../training/evaluate.js';
import { fitEncodersFromDb } from '../../training/fit-encoders.js';
import { defaultCatalogue } from '../default-catalogue.js';
import { printSummary } from '../output.js';
import { backfillProgressBar } from '../progress.js';
import { formatBackfillSummary } from './backfill.js';
import { DEFAULT_MEMBERS } from '../../models/classifier/train.js';
import { runClassify } from './classify.js';
import { formatFit } from './setup.js';
import { formatTrain, runTrain } from './train.js';
import { parseNumber } from '../options.js';

const say = (json: boolean | undefined, line: string) => {
  if (!json) process.stderr.write(`${line}\n`);
};

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('The main job: backfill the default catalogue, fit and train the offline models if needed, classify, evaluate.')
    .option('--limit <n>', 'only the first N listings', parseNumber('--limit', 'whole>=1'))
    .option('--retrain', 'fit the encoders and train the classifier again even if current ones exist', false)
    .option('--no-holdout', 'fit and train on every labelled listing, test split included (production models; the held-out evaluation is skipped)')
    .option('--json', 'print the summary as one JSON object on the last line')
    .action(async (opts: { limit?: number; retrain: boolean; holdout: boolean; json?: boolean }) => {
      const config = loadConfig();
      const log = createLogger({ LOG_LEVEL: opts.json ? 'warn' : config.LOG_LEVEL }, 'demo');
      const catalogue = await defaultCatalogue(config);
      say(opts.json, catalogue.label === 'builtin'
        ? `Catalogue: the built-in generated sample (${catalogue.productsPath}); ${path.join(config.SHARED_DIR, 'data', 'fbm')} was not found.`
        : `Catalogue: the real sample ${path.dirname(catalogue.productsPath)}.`);
      await migrate(config);
      const db = createDb(config, { applicationName: 'demo' });
      const redis = await connectRedis(config, 'producer');
      mkdirSync(path.join(config.VAR_DIR, 'logs'), { recursive: true });
      const logFile = openSync(path.join(config.VAR_DIR, 'logs', 'pools.log'), 'a');
      const pools = startAllPools({ stdio: ['ignore', logFile, logFile] });
      say(opts.json, `Started the image-clean, text-embed and infer pools (logs: ${path.join(config.VAR_DIR, 'logs', 'pools.log')}).`);
      const producer = new ListingFlowProducer(redis, config);
      const admin = new QueueAdmin(redis, config);
      try {
        const bar = backfillProgressBar(!opts.json);
        const backfill = await runBackfill({ db, producer, admin, log }, { ...catalogue, limit: opts.limit, maxQueuedJobs: config.BACKFILL_MAX_QUEUED_JOBS, onProgress: (p) => bar.update(p) });
        bar.stop();
        say(opts.json, formatBackfillSummary(backfill, catalogue.label));

        const manifest = await readManifest(config);
        const [textEntry, imageEntry] = [currentEntry(manifest, 'text-encoder'), currentEntry(manifest, 'image-encoder')];
        // --no-holdout asks for models fitted on everything: ones fitted with the split held out do not count.
        const fittedOnAll = (e: ManifestEntry | null) => opts.holdout || sawTestSplit(e);
        let fit = null;
        let train = null;
        if (opts.retrain || !textEntry || !imageEntry || !fittedOnAll(textEntry) || !fittedOnAll(imageEntry)) {
          fit = await fitEncodersFromDb({ db, config, log }, { holdout: opts.holdout, onStage: (s) => say(opts.json, `  ${s}`) });
          say(opts.json, formatFit(fit));
        }
        const current = await readManifest(config);
        const classifierEntry = currentEntry(current, 'classifier');
        // A classifier trained on other encoders than the current ones (a `setup` since) cannot read their vectors.
        const trainedOn = (classifierEntry?.preprocessing ?? {}) as { textEncoder?: unknown; imageEncoder?: unknown };
        const onCurrentEncoders = trainedOn.textEncoder === currentEntry(current, 'text-encoder')?.version
          && trainedOn.imageEncoder === currentEntry(current, 'image-encoder')?.version;
        if (fit || !classifierEntry || !fittedOnAll(classifierEntry) || !onCurrentEncoders) {
          train = await runTrain({ holdout: opts.holdout, seed: '1', epochs: '40', lr: '0.001', batchSize: '64', patience: '5', members: String(DEFAULT_MEMBERS), resume: false, progress: !opts.json, json: opts.json });
          say(opts.json, formatTrain(train));
        }
        const classify = await runClassify({ wait: true, json: opts.json });
        say(opts.json, `Classified ${classify.enqueued} listing(s) with ${classify.modelVersion}.`);
        if (classify.incomplete) say(opts.json, `  INCOMPLETE: ${classify.incomplete}`);
        // As `backfill`: the figures still print, but a run that left work undone exits 2.
        if (backfill.incomplete || classify.incomplete) process.exitCode = 2;
        if (!opts.holdout) {
          const human = 'No held-out evaluation: every labelled listing, test split included, was used for fitting and training. ' +
            'Score these models on a catalogue they never saw: npm run cli -- evaluate --products P --images I --image-dir D';
          printSummary(opts, human, { catalogue: catalogue.label, backfill, fit, train, classify, evaluation: null });
          return;
        }
        const evaluation = await evaluateCatalogue({ config, log }, catalogue, { split: 'test', limit: opts.limit });
        const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
        const ci = ([lo, hi]: [number, number]) => `${(lo * 100).toFixed(1)}-${(hi * 100).toFixed(1)}%`;
        const seen = evaluation.testSplitSeenBy;
        const human = [
          seen.length === 0
            ? `Held-out evaluation (${evaluation.listings} listings of the 10% test split of product ids, never used for fitting or training):`
            : `In-sample evaluation (${evaluation.listings} listings of the 10% test split, which the current ${seen.join(', ')} ${seen.length > 1 ? 'were' : 'was'} fitted on; npm start -- --retrain gives held-out figures):`,
          `  text-only ${pct(evaluation.text.accuracy)} (95% CI ${ci(evaluation.text.accuracyCi95)}, macro-F1 ${pct(evaluation.text.macroF1)}, n=${evaluation.text.count})`,
          `  image-only per photo ${pct(evaluation.imagePerPhoto.accuracy)} (95% CI ${ci(evaluation.imagePerPhoto.accuracyCi95)}, macro-F1 ${pct(evaluation.imagePerPhoto.macroF1)}, n=${evaluation.imagePerPhoto.count})`,
          `  combined ${pct(evaluation.combined.accuracy)} (95% CI ${ci(evaluation.combined.accuracyCi95)}, macro-F1 ${pct(evaluation.combined.macroF1)}, n=${evaluation.combined.count})`,
          ...unscoredPhotosLine(evaluation.input.photos),
        ].join('\n');
        printSummary(opts, human, { catalogue: catalogue.label, backfill, fit, train, classify, evaluation });
      } finally {
        await stopPools(pools);
        await producer.close();
        await admin.close();
        redis.disconnect();
        await db.close();
      }
    });
}

/** One line when some photos of the scored listings could not be used, so a low photo count is explained. */
function unscoredPhotosLine(p: EvaluateResult['input']['photos']): string[] {
  const unreadable = Object.entries(p.unreadable).map(([code, n]) => `${n} ${code}`).join(', ');
  if (p.missing === 0 && !unreadable) return [];
  return [`  ${p.listed - p.scored} of ${p.listed} photos not scored: ${p.missing} missing${unreadable ? `, unreadable: ${unreadable}` : ''}`];
}
