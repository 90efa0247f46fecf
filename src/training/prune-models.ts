// `models prune`: drop old model versions with everything they own. The manifest entries go first,
// under the manifest lock and only if none became current meanwhile: from then on `models use` cannot
// pick them, so their files and rows can go without a race. If deleting rows fails part-way, the
// versions are no longer in the manifest; `models prune --orphans` finds their rows and finishes.
import type { Config } from '../config.js';
import { deleteModelVersionRows, listingsPredictedOnlyBy, modelVersionsWithRows, type DeletedModelRows } from '../db/model-rows-repo.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logging.js';
import { readManifest } from '../models/load.js';
import { deleteModelFiles, planPrune, removeFromManifest, type PrunePlan } from '../models/registry/prune.js';
import { OOF_SUFFIX } from './fit-encoders.js';

export interface PruneOptions {
  /** Previous (non-current) versions kept per role, newest first. */
  keep: number;
  dryRun: boolean;
  /**
   * Also delete the rows of model versions the manifest does not list at all (left by a prune that
   * failed part-way, or by a manifest replaced by hand). Off by default: a database shared by two
   * MODELS_DIRs would lose the other's rows.
   */
  orphans?: boolean;
}

export interface PruneResult {
  dryRun: boolean;
  removed: { role: string; version: string }[];
  /** With `orphans`: versions that own rows but are in no manifest entry. */
  orphanVersions: string[];
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
  const none = { textEmbeddings: 0, imageEmbeddings: 0, predictions: 0 };
  const manifest = await readManifest(config);
  const p = manifest ? await plan(db, manifest, opts.keep) : { remove: [], keep: [] };
  const removed = p.remove.map((m) => ({ role: m.role, version: m.version }));
  const listed = new Set((manifest?.models ?? []).map((m) => m.version));
  const orphanVersions = opts.orphans ? [...(await modelVersionsWithRows(db, OOF_SUFFIX))].filter((v) => !listed.has(v)).sort() : [];
  if (opts.dryRun || (p.remove.length === 0 && orphanVersions.length === 0)) {
    return { dryRun: opts.dryRun, removed, orphanVersions, kept: p.keep, rows: none, files: [] };
  }
  const versions = p.remove.map((m) => m.version);
  const remaining = versions.length > 0 ? await removeFromManifest(config.MODELS_DIR, versions) : manifest;
  // Files right away: once out of the manifest nothing can load these versions, and no later command
  // would find their files again.
  const files = remaining ? await deleteModelFiles(config.MODELS_DIR, p.remove, remaining) : [];
  let rows: DeletedModelRows;
  const all = [...versions, ...orphanVersions];
  try {
    rows = await deleteModelVersionRows(db, all, OOF_SUFFIX);
  } catch (err) {
    throw new Error(
      `${all.join(', ')} ${all.length === 1 ? 'is' : 'are'} out of the manifest (files deleted), but deleting their rows failed ` +
        `(${(err as Error).message}); run \`npm run cli -- models prune --orphans\` to finish.`,
      { cause: err },
    );
  }
  log.info({ versions, orphanVersions, rows, files }, 'pruned model versions');
  return { dryRun: false, removed, orphanVersions, kept: p.keep, rows, files };
}
