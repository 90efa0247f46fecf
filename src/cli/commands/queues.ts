// `queues`: operator commands over the pool queues: counts, pause, resume, retry failed jobs.
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { connectRedis } from '../../queues/connection.js';
import { QueueAdmin } from '../../queues/queue-admin.js';
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
}
