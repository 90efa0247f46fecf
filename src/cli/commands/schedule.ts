// `schedule`: the nightly backfill as operators see it: when it next runs and how the last run went
// (`show`), start one now (`run-now`), or take the schedule out (`remove`; the scheduler process
// installs it again on its next start unless NIGHTLY_CRON=off).
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config.js';
import { createDb } from '../../db/pool.js';
import { latestRun } from '../../db/runs-repo.js';
import { connectRedis } from '../../queues/connection.js';
import { NightlySchedule } from '../../queues/scheduler.js';
import { NIGHTLY_KIND } from '../../pipeline/nightly.js';
import { printSummary, type OutputOptions } from '../output.js';
import { parseNumber } from '../options.js';

async function withSchedule<T>(fn: (s: NightlySchedule, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const redis = await connectRedis(config, 'producer');
  const schedule = new NightlySchedule(redis, config);
  try {
    return await fn(schedule, config);
  } finally {
    await schedule.close();
    redis.disconnect();
  }
}

interface RunNowOptions extends OutputOptions {
  catalogue?: string;
  limit?: number;
  wait: boolean;
  timeout: number;
}

export function registerSchedule(program: Command): void {
  const cmd = program.command('schedule').description('Show, trigger or remove the nightly catalogue backfill.');
  cmd
    .command('show')
    .description('Show the installed nightly schedule, its next run and the latest nightly run.')
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: OutputOptions) => {
      const out = await withSchedule(async (s, config) => {
        const info = await s.describe();
        const counts = await s.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
        const db = createDb(config, { applicationName: 'schedule-cli' });
        try {
          const run = await latestRun(db, NIGHTLY_KIND).catch((err: Error) => {
            if (/relation "runs" does not exist/.test(err.message)) {
              throw new Error(`Schema ${config.DB_SCHEMA} has no runs table yet; run \`listing-pipeline migrate\` first.`);
            }
            throw err;
          });
          return { schedule: info, configured: { cron: config.NIGHTLY_CRON, tz: config.NIGHTLY_TZ }, queue: counts, latestRun: run };
        } finally {
          await db.close();
        }
      });
      const r = out.latestRun;
      const human = [
        out.schedule.pattern
          ? `Nightly backfill: "${out.schedule.pattern}" (${out.schedule.tz ?? 'UTC'}), next run ${out.schedule.next ? new Date(out.schedule.next).toISOString() : 'unknown'}`
          : `Nightly backfill: not installed (configured NIGHTLY_CRON="${out.configured.cron}"; the scheduler process installs it on start).`,
        `  queue: ${Object.entries(out.queue).map(([k, v]) => `${k}=${v}`).join(' ')}`,
        r
          ? `  latest run ${r.id}: ${r.status}, started ${r.startedAt.toISOString()}${r.finishedAt ? `, finished ${r.finishedAt.toISOString()}` : ''}${r.error ? `, error: ${r.error}` : ''}`
          : '  no nightly run yet',
      ].join('\n');
      printSummary(opts, human, out);
    });
  cmd
    .command('run-now')
    .description('Enqueue a nightly backfill now (a scheduler process runs it; never two at once).')
    .option('--catalogue <dir>', 'catalogue folder (default: NIGHTLY_CATALOGUE_DIR or the default catalogue)')
    .option('--limit <n>', 'only the first N listings', parseNumber('--limit', 'whole>=1'))
    .option('--no-wait', 'return once enqueued')
    .option('--timeout <seconds>', 'how long to wait for the run', parseNumber('--timeout', 'positive'), 3600)
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: RunNowOptions) => {
      const out = await withSchedule(async (s) => {
        const jobId = await s.trigger({ catalogueDir: opts.catalogue ?? null, limit: opts.limit ?? null });
        return opts.wait ? s.waitFor(jobId, opts.timeout * 1000) : { jobId, state: 'waiting', result: null, failedReason: null };
      });
      const result = out.result as { outcome?: string; runId?: number; reason?: string } | null;
      const human =
        out.state === 'failed'
          ? `Nightly job ${out.jobId} failed: ${out.failedReason}`
          : result?.outcome
            ? `Nightly job ${out.jobId}: ${result.outcome}${result.runId ? ` (run ${result.runId})` : ''}${result.reason ? `: ${result.reason}` : ''}`
            : `Nightly job ${out.jobId} enqueued.`;
      printSummary(opts, human, out);
      // As `backfill`: 2 when the run did not do all its work (incomplete, or skipped for a run in progress).
      if (out.state === 'failed') process.exitCode = 1;
      else if (result?.outcome && result.outcome !== 'finished') process.exitCode = 2;
    });
  cmd
    .command('remove')
    .description('Remove the nightly job scheduler (set NIGHTLY_CRON=off so the scheduler does not reinstall it).')
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: OutputOptions) => {
      const removed = await withSchedule((s) => s.remove());
      printSummary(opts, removed ? 'Nightly schedule removed.' : 'No nightly schedule was installed.', { removed });
    });
}
