// `models prune`: drop old model versions with everything they own, in an order that a failure part-way
// can be retried from: rows first (the manifest still lists the versions, so the same command plans
// them again), then the manifest entries, then the files.
import type { Config } from '../config.js';
import { deleteModelVersionRows, listingsPredictedOnlyBy, type DeletedModelRows } from '../db/model-rows-repo.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logging.js';
import { readManifest } from '../models/load.js';
import { deleteModelFiles, planPrune, removeFromManifest, type PrunePlan } from '../models/registry/prune.js';
import { OOF_SUFFIX } from './fit-encoders.js';

export interface PruneOptions {
  /** Previous (non-current) versions kept per role, newest first. */
  keep: number;
  dryRun: boolean;
}

export interface PruneResult {
  dryRun: boolean;
  removed: { role: string; version: string }[];
  kept: PrunePlan['keep'];
  rows: DeletedModelRows;
  /** Deleted paths, relative to MODELS_DIR. */
  files: string[];
}

/**
 * The plan, with one more rule than planPrune: a classifier is kept while some listing has a prediction
 * from it and from no kept classifier (its category would vanish until the next `classify`).
 */
async function plan(db: Db, manifest: NonNullable<Awaited<ReturnType<typeof readManifest>>>, keep: number): Promise<PrunePlan> {
  const pinned = new Map<string, string>();
  for (;;) {
    const p = planPrune(manifest, keep, pinned);
    const kept = p.keep.filter((k) => k.role === 'classifier').map((k) => k.version);
    // Newest first: pinning the newest classifier such listings have usually covers them all.
    const candidates = p.remove.filter((m) => m.role === 'classifier').sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    let added = false;
    for (const c of candidates) {
      const orphans = await listingsPredictedOnlyBy(db, c.version, kept);
      if (orphans > 0) {
        pinned.set(c.version, `${orphans} listing(s) have a prediction from it and from no kept classifier; run \`classify\`, then prune again`);
        added = true;
        break;
      }
    }
    if (!added) return p;
  }
}

export async function pruneModels(deps: { db: Db; config: Config; log: Logger }, opts: PruneOptions): Promise<PruneResult> {
  const { db, config, log } = deps;
  const manifest = await readManifest(config);
  if (!manifest) return { dryRun: opts.dryRun, removed: [], kept: [], rows: { textEmbeddings: 0, imageEmbeddings: 0, predictions: 0 }, files: [] };
  const p = await plan(db, manifest, opts.keep);
  const removed = p.remove.map((m) => ({ role: m.role, version: m.version }));
  if (opts.dryRun || p.remove.length === 0) {
    return { dryRun: opts.dryRun, removed, kept: p.keep, rows: { textEmbeddings: 0, imageEmbeddings: 0, predictions: 0 }, files: [] };
  }
  const versions = p.remove.map((m) => m.version);
  const rows = await deleteModelVersionRows(db, versions, OOF_SUFFIX);
  log.info({ versions, rows }, 'deleted the rows of pruned model versions');
  const remaining = await removeFromManifest(config.MODELS_DIR, versions);
  const files = await deleteModelFiles(config.MODELS_DIR, p.remove, remaining);
  log.info({ versions, files }, 'pruned model versions');
  return { dryRun: false, removed, kept: p.keep, rows, files };
}
