// One nightly backfill job: take the nightly lock, clear runs left 'running' by a scheduler that died,
// run the backfill of the configured catalogue to the end, put its counts in metrics (runBackfill
// already puts them in the runs table), and enqueue again the listings whose flow Redis lost.
//
// "Never started twice" rests on a session-level Postgres advisory lock held on a dedicated connection
// for the whole run (Db.withSession, which closes that connection afterwards). Postgres drops it the
// moment the holding connection or process dies, so a crashed run never blocks the next one, and any
// nightly run still marked 'running' while we hold the lock is an orphan. No transaction stays open for
// the run (an idle_in_transaction_session_timeout would otherwise end it, and the lock with it).
import type { Config } from '../config.js';
import { catalogueInDir, defaultCatalogue } from '../cli/default-catalogue.js';
import { migrate } from '../db/migrate.js';
import type { Db, Queryable } from '../db/pool.js';
import { failRun } from '../db/runs-repo.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics/registry.js';
import type { ListingFlowProducer } from '../queues/flows.js';
import type { QueueAdmin } from '../queues/queue-admin.js';
import type { NightlyPayload } from '../queues/scheduler.js';
import { runBackfill, type BackfillSummary } from './backfill.js';
import { LOST_FLOW_AFTER_MS, requeueLostListings } from './requeue-lost.js';

export const NIGHTLY_KIND = 'nightly';

export interface NightlyDeps {
  db: Db;
  producer: ListingFlowProducer;
  /** Admin of the pool queues only (the backfill waits until they hold no work of its run). */
  admin: QueueAdmin;
  log: Logger;
  metrics: Pick<Metrics, 'runsTotal' | 'runLastSuccess' | 'runLastDuration' | 'backfillListings'>;
  config: Config;
  pollMs?: number;
}

export type NightlyResult =
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'finished' | 'incomplete'; runId: number; catalogue: string; summary: BackfillSummary; requeuedLost: number };

async function tryNightlyLock(session: Queryable): Promise<boolean> {
  // Advisory locks are database-wide; the schema in the key keeps test schemas (and tenants) apart.
  const { rows } = await session.query<{ locked: boolean }>(
    `SELECT pg_try_advisory_lock(hashtextextended('listing-pipeline:nightly:' || current_schema(), 0)) AS locked`,
  );
  return rows[0]?.locked === true;
}

async function runningNightly(db: Queryable): Promise<{ id: number; started_at: Date }[]> {
  const { rows } = await db.query<{ id: number; started_at: Date }>(
    `SELECT id, started_at FROM runs WHERE kind = $1 AND status = 'running' ORDER BY id`,
    [NIGHTLY_KIND],
  );
  return rows;
}

export async function runNightly(deps: NightlyDeps, data: NightlyPayload): Promise<NightlyResult> {
  const { db, log, metrics, config } = deps;
  const dir = data.catalogueDir ?? config.NIGHTLY_CATALOGUE_DIR;
  let result: NightlyResult | undefined;
  try {
    // Inside the try: a catalogue that cannot be found or a migration that fails is a failed run too,
    // counted, so that the failed-nightly alert fires instead of the night passing silently.
    const paths = dir ? catalogueInDir(dir) : await defaultCatalogue(config);
    await migrate(config);
    await db.withSession(async (session) => {
      if (!(await tryNightlyLock(session))) {
        const running = await runningNightly(db);
        const which = running.map((r) => `run ${r.id} started ${r.started_at.toISOString()}`).join(', ') || 'a run that is starting';
        result = { outcome: 'skipped', reason: `A nightly backfill is already in progress (${which}); this trigger was skipped.` };
        return;
      }
      for (const orphan of await runningNightly(db)) {
        await failRun(db, orphan.id, 'The scheduler process running this nightly backfill stopped before it finished; a later nightly run replaced it.');
        log.warn({ runId: orphan.id }, 'marked an abandoned nightly run as failed');
      }
      const started = Date.now();
      const summary = await runBackfill(
        { db, producer: deps.producer, admin: deps.admin, log },
        { ...paths, limit: data.limit ?? undefined, kind: NIGHTLY_KIND, wait: true, maxQueuedJobs: config.BACKFILL_MAX_QUEUED_JOBS, pollMs: deps.pollMs },
      );
      const outcome = summary.incomplete ? 'incomplete' : 'finished';
      metrics.runsTotal.inc({ kind: NIGHTLY_KIND, outcome });
      metrics.runLastDuration.set({ kind: NIGHTLY_KIND }, (Date.now() - started) / 1000);
      if (outcome === 'finished') metrics.runLastSuccess.set({ kind: NIGHTLY_KIND }, Date.now() / 1000);
      metrics.backfillListings.inc({ outcome: 'enqueued' }, summary.newWork);
      metrics.backfillListings.inc({ outcome: 'unchanged' }, summary.unchanged);
      metrics.backfillListings.inc({ outcome: 'duplicate' }, summary.catalogue.duplicates);
      metrics.backfillListings.inc({ outcome: 'rejected' }, summary.catalogue.rejectedRows);
      // Listings that no catalogue resubmits (webhook ones) and whose flow Redis lost since the last night.
      // The run itself is over and counted: a failure here is logged, not a failed run.
      let requeuedLost = 0;
      try {
        const lost = await requeueLostListings(
          { db, producer: deps.producer, admin: deps.admin, warn: (message) => log.warn(message) },
          { olderThanMs: LOST_FLOW_AFTER_MS, maxQueuedJobs: config.BACKFILL_MAX_QUEUED_JOBS, pollMs: deps.pollMs },
        );
        requeuedLost = lost.requeued.length;
        if (requeuedLost > 0) log.warn({ runId: summary.runId, requeued: requeuedLost }, `enqueued again ${requeuedLost} pending listing(s) whose flow was no longer in Redis`);
      } catch (err) {
        log.warn({ runId: summary.runId, err }, `could not look for listings whose flow Redis lost (${(err as Error).message}); \`queues requeue-lost\` does it by hand`);
      }
      result = { outcome, runId: summary.runId, catalogue: paths.label, summary, requeuedLost };
      log.info({ runId: summary.runId, outcome, newWork: summary.newWork, trigger: data.trigger }, 'nightly backfill done');
    });
  } catch (err) {
    metrics.runsTotal.inc({ kind: NIGHTLY_KIND, outcome: 'failed' });
    throw err;
  }
  if (!result) throw new Error('The nightly job ended without a result; this is a bug in runNightly.');
  if (result.outcome === 'skipped') {
    metrics.runsTotal.inc({ kind: NIGHTLY_KIND, outcome: 'skipped' });
    log.warn({ trigger: data.trigger }, result.reason);
  }
  return result;
}
