// `train`: train the combined classifier from Postgres, write ONNX + report, make it current.
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { createDb } from '../../db/pool.js';
import { createLogger } from '../../logging.js';
import { DEFAULT_MEMBERS } from '../../models/classifier/train.js';
import { trainFromDb, type TrainResult } from '../../training/train-classifier.js';
import { numberOption } from '../options.js';
import { printSummary } from '../output.js';

export interface TrainCliOptions {
  holdout: boolean;
  seed: string;
  epochs: string;
  lr: string;
  batchSize: string;
  patience: string;
  members: string;
  resume: boolean;
  progress: boolean;
  json?: boolean;
}

export function formatTrain(r: TrainResult): string {
  const v = r.validation;
  return [
    r.members.length > 1
      ? `Classifier ${r.version} (${r.members.length} seed members, probabilities averaged) trained on ${r.listings} listings in ${r.seconds.toFixed(1)} s (best epochs ${r.members.map((m) => m.bestEpoch).join(', ')}).`
      : `Classifier ${r.version} trained on ${r.listings} listings in ${r.seconds.toFixed(1)} s (best epoch ${r.bestEpoch}${r.stoppedEarly ? ', stopped early' : ''}).`,
    `  validation: accuracy ${(v.accuracy * 100).toFixed(1)}%, macro-F1 ${(v.macroF1 * 100).toFixed(1)}%${
      r.members.length > 1 ? ` (members alone: ${r.members.map((m) => (m.validationAccuracy * 100).toFixed(1)).join(', ')}%)` : ''}`,
    `  report: ${r.reportDir} (report.json, curves.png, confusion.png)`,
  ].join('\n');
}

export async function runTrain(opts: TrainCliOptions): Promise<TrainResult> {
  const config = loadConfig();
  const log = createLogger(config, 'train');
  const db = createDb(config, { applicationName: 'train' });
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'member {member} epoch {epoch}/{epochs} {bar} {percentage}% | loss {loss} | val acc {acc}', noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  const show = opts.progress && !opts.json && process.stderr.isTTY;
  let started = false;
  try {
    return await trainFromDb(
      { db, config, log },
      {
        holdout: opts.holdout,
        seed: numberOption('--seed', opts.seed, 'whole>=0'),
        epochs: numberOption('--epochs', opts.epochs, 'whole>=1'),
        lr: numberOption('--lr', opts.lr, 'positive'),
        batchSize: numberOption('--batch-size', opts.batchSize, 'whole>=1'),
        patience: numberOption('--patience', opts.patience, 'whole>=1'),
        members: numberOption('--members', opts.members, 'whole>=1'),
        resume: opts.resume,
        onProgress: (p) => {
          if (!show) return;
          const member = p.member ?? 1, members = p.members ?? 1;
          const payload = { member: `${member}/${members}`, epoch: p.epoch, epochs: p.epochs, loss: p.loss.toFixed(3), acc: p.record ? (p.record.valAccuracy.best * 100).toFixed(1) + '%' : '-' };
          // Early stopping ends a member before its last epoch: the bar then jumps to the next member's start.
          const value = ((member - 1) * p.epochs + p.epoch - 1) * p.batches + p.batch;
          if (!started) {
            bar.start(members * p.epochs * p.batches, value, payload);
            started = true;
          } else bar.update(value, payload);
        },
      },
    );
  } finally {
    if (started) bar.stop();
    await db.close();
  }
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('Train the combined classifier from the embeddings in Postgres and make it current.')
    .option('--no-holdout', 'train on every labelled listing (default: keep the 10% test split out)')
    .option('--seed <n>', 'random seed', '1')
    .option('--epochs <n>', 'maximum epochs', '40')
    .option('--lr <x>', 'Adam learning rate', '0.001')
    .option('--batch-size <n>', 'mini-batch size', '64')
    .option('--patience <n>', 'early-stopping patience in epochs', '5')
    .option('--members <n>', 'seed-ensemble members (seeds seed, seed+1, ...; probabilities averaged); 1 = a single model', String(DEFAULT_MEMBERS))
    .option('--resume', 'continue from the last checkpoint of the same encoders', false)
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: TrainCliOptions) => {
      const r = await runTrain(opts);
      printSummary(opts, formatTrain(r), r);
    });
}
