// `runs`: what past backfills and nightly runs did, for the operator who finds a failed nightly run in
// the morning: the runs with their outcome, and for one run its counts, its most common failure reasons
// and the catalogue rows it rejected (file, line, reason, the start of the row).
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { migrate } from '../../db/migrate.js';
import { createDb, type Db } from '../../db/pool.js';
import { runFailureReasons, runProgress } from '../../db/run-progress-repo.js';
import { getRun, listRuns, rowRejectsForRun, type RunRow } from '../../db/runs-repo.js';
import { numberOption, parseNumber } from '../options.js';
import { printSummary, type OutputOptions } from '../output.js';

async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const config = loadConfig();
  await migrate(config);
  const db = createDb(config, { applicationName: 'runs' });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

function duration(run: RunRow): string {
  if (!run.finishedAt) return 'running';
  const s = (run.finishedAt.getTime() - run.startedAt.getTime()) / 1000;
  return s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
}

/** "6097 new, 0 unchanged" from a finished backfill's summary counts, when they are there. */
function workOf(run: RunRow): string {
  const c = run.counts as { newWork?: unknown; unchanged?: unknown; incomplete?: unknown };
  if (typeof c.newWork !== 'number') return '';
  return `${c.newWork} new, ${String(c.unchanged ?? 0)} unchanged${typeof c.incomplete === 'string' ? ', INCOMPLETE' : ''}`;
}

export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('Past backfill and nightly runs: outcomes, failure reasons, rejected rows.');
  runs
    .command('list')
    .description('The most recent runs, newest first.')
    .option('--limit <n>', 'how many runs', parseNumber('--limit', 'whole>=1'), 20)
    .option('--kind <kind>', 'only runs of this kind (backfill, nightly)')
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: OutputOptions & { limit: number; kind?: string }) => {
      const rows = await withDb((db) => listRuns(db, { limit: opts.limit, kind: opts.kind }));
      const human = rows.length === 0
        ? 'No runs are recorded yet; `npm run cli -- backfill` starts one.'
        : rows.map((r) => [
          `${String(r.id).padStart(5)} ${r.kind.padEnd(8)} ${r.status.padEnd(8)} ${r.startedAt.toISOString()} ${duration(r).padStart(9)}`,
          workOf(r),
          r.error ? `error: ${r.error}` : '',
        ].filter(Boolean).join('  ')).join('\n');
      printSummary(opts, human, { runs: rows });
    });
  runs
    .command('show <id>')
    .description('One run: its summary, the outcome of the listings and photos it queued, top failure reasons and rejected rows.')
    .option('--rejects <n>', 'rejected rows to print', parseNumber('--rejects', 'whole>=0'), 20)
    .option('--json', 'print the summary as one JSON object')
    .action(async (idText: string, opts: OutputOptions & { rejects: number }) => {
      const id = numberOption('run id', idText, 'whole>=1');
      const out = await withDb(async (db) => {
        const run = await getRun(db, id);
        if (!run) throw new Error(`There is no run ${id}; \`npm run cli -- runs list\` shows the recorded runs.`);
        return { run, progress: await runProgress(db, id), failureReasons: await runFailureReasons(db, id), rowRejects: await rowRejectsForRun(db, id, opts.rejects) };
      });
      const { run, progress, failureReasons, rowRejects } = out;
      const lines = [
        `Run ${run.id} (${run.kind}) ${run.status}: ${run.source}`,
        `  started ${run.startedAt.toISOString()}, ${duration(run)}${workOf(run) ? `; ${workOf(run)}` : ''}`,
        ...(run.error ? [`  error: ${run.error}`] : []),
        `  listings ${JSON.stringify(progress.listings)}, photos ${JSON.stringify(progress.images)} (as they stand now)`,
        ...failureReasons.images.map((r) => `  photo failures: ${r.reason} x${r.count}`),
        ...failureReasons.listings.map((r) => `  listing failures: ${r.reason} x${r.count}`),
        `  rejected catalogue rows: ${rowRejects.total}${rowRejects.total > rowRejects.rejects.length ? ` (first ${rowRejects.rejects.length} below; --rejects N for more)` : ''}`,
        ...rowRejects.rejects.map((r) => `    ${r.file}:${r.line}: ${r.reason}${r.excerpt ? ` [${r.excerpt}]` : ''}`),
      ];
      printSummary(opts, lines.join('\n'), out);
    });
}
