// `queues`: operator commands over the pool queues: counts, pause, resume, retry failed jobs, and
// re-enqueueing listings whose flow was lost.
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { migrate } from '../../db/migrate.js';
import { createDb } from '../../db/pool.js';
import { LOST_FLOW_AFTER_MS, requeueLostListings } from '../../pipeline/requeue-lost.js';
import { connectRedis } from '../../queues/connection.js';
import { ListingFlowProducer } from '../../queues/flows.js';
import { QueueAdmin } from '../../queues/queue-admin.js';
import { parseNumber } from '../options.js';
import { printSummary, type OutputOptions } from '../output.js';

async function withAdmin<T>(fn: (admin: QueueAdmin) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const redis = await connectRedis(config, 'producer');
  const admin = new QueueAdmin(redis, config);
  try {
    return await fn(admin);
  } finally {
    await admin.close();
    redis.disconnect();
  }
}

export function registerQueues(program: Command): void {
  const queues = program.command('queues').description('Inspect and steer the worker-pool queues.');
  queues
    .command('counts')
    .description('Show job counts per queue and state.')
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: OutputOptions) => {
      const counts = await withAdmin((a) => a.counts());
      const lines = Object.entries(counts).map(
        ([q, c]) => `${q.padEnd(12)} ${Object.entries(c).map(([s, n]) => `${s}=${n}`).join(' ')}`,
      );
      printSummary(opts, lines.join('\n'), counts);
    });
  for (const action of ['pause', 'resume'] as const) {
    queues
      .command(`${action} <queue>`)
      .description(`${action === 'pause' ? 'Pause' : 'Resume'} a queue for every worker.`)
      .option('--json', 'print the summary as one JSON object')
      .action(async (queue: string, opts: OutputOptions) => {
        await withAdmin((a) => a[action](queue));
        printSummary(opts, `Queue ${queue}: ${action}d.`, { queue, action });
      });
  }
  queues
    .command('retry <queue>')
    .description('Move every failed job of a queue back to waiting.')
    .option('--json', 'print the summary as one JSON object')
    .action(async (queue: string, opts: OutputOptions) => {
      const retried = await withAdmin((a) => a.retryFailed(queue));
      printSummary(opts, `Queue ${queue}: ${retried} failed job(s) retried.`, { queue, retried });
    });
  queues
    .command('requeue-lost')
    .description('Enqueue again the flows of listings pending for longer than --older-than minutes whose flow is no longer in Redis (lost in a Redis restart without persistence, or removed); flows still queued or running are left alone.')
    .option('--older-than <minutes>', 'only listings pending for longer than this', parseNumber('--older-than', 'positive'), LOST_FLOW_AFTER_MS / 60_000)
    .option('--dry-run', 'count and list them, enqueue nothing')
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: OutputOptions & { olderThan: number; dryRun?: boolean }) => {
      const config = loadConfig();
      await migrate(config);
      const db = createDb(config, { applicationName: 'requeue-lost' });
      const redis = await connectRedis(config, 'producer');
      const producer = new ListingFlowProducer(redis, config);
      const admin = new QueueAdmin(redis, config);
      try {
        const r = await requeueLostListings(
          { db, producer, admin, warn: (message) => process.stderr.write(`${message}\n`) },
          { olderThanMs: opts.olderThan * 60_000, maxQueuedJobs: config.BACKFILL_MAX_QUEUED_JOBS, dryRun: opts.dryRun === true },
        );
        const verb = opts.dryRun ? 'would be enqueued again (--dry-run: nothing changed)' : 'enqueued again';
        printSummary(
          opts,
          `${r.pending} listing(s) pending for over ${opts.olderThan} min: ${r.inFlight} with a flow still in the queues, ${r.requeued.length} ${verb}.` +
            (r.requeued.length > 0 ? `\n  ${r.requeued.slice(0, 20).join(', ')}${r.requeued.length > 20 ? ', ...' : ''}` : ''),
          { ...r, dryRun: opts.dryRun === true },
        );
      } finally {
        await producer.close();
        await admin.close();
        redis.disconnect();
        await db.close();
      }
    });
}
