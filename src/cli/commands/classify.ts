// `classify`: predictions of the current classifier for every processed listing lacking one (runs on
// the infer pool, so the workers must be running).
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { createDb } from '../../db/pool.js';
import { connectRedis } from '../../queues/connection.js';
import { QueueAdmin } from '../../queues/queue-admin.js';
import { classifyStored, type ClassifyResult } from '../../training/classify.js';
import { printSummary } from '../output.js';

export async function runClassify(opts: { wait: boolean; json?: boolean }): Promise<ClassifyResult> {
  const config = loadConfig();
  const db = createDb(config, { applicationName: 'classify' });
  const redis = await connectRedis(config, 'producer');
  const admin = new QueueAdmin(redis, config);
  try {
    return await classifyStored(
      { db, redis, admin, config },
      {
        wait: opts.wait,
        onProgress: (d, t) => !opts.json && process.stderr.isTTY && process.stderr.write(`\rclassified ${d}/${t}`),
        warn: (message) => process.stderr.write(`\n${message}\n`),
      },
    );
  } finally {
    if (!opts.json) process.stderr.write('\n');
    await admin.close();
    redis.disconnect();
    await db.close();
  }
}

export function registerClassify(program: Command): void {
  program
    .command('classify')
    .description('Predict every processed listing that has no prediction from the current classifier (needs the workers).')
    .option('--no-wait', 'enqueue and return')
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: { wait: boolean; json?: boolean }) => {
      const r = await runClassify(opts);
      printSummary(opts, `Classifier ${r.modelVersion}: ${r.enqueued} listing(s) enqueued, ${r.predictions} predictions stored (${r.seconds.toFixed(1)} s).${r.incomplete ? `\nINCOMPLETE: ${r.incomplete}` : ''}`, r);
      if (r.incomplete) process.exitCode = 2;
    });
}
