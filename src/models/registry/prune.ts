// `models prune`, the registry half: which registered models to drop, and dropping them from the manifest
// and MODELS_DIR. Every setup/train registers a new version and keeps the old ones (so `models use` can
// roll back), and nothing removed them: each offline setup on the sample adds 43 MB of files and 270 MB
// of embedding rows. The database half (embeddings and predictions of the dropped versions) is in
// src/db/model-rows-repo.ts; src/training/prune-models.ts runs both.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Manifest, ManifestEntry, ModelRole } from '../manifest-types.js';
import { ModelError } from './errors.js';
import { classifierCheckpointPath, classifierReportDir } from './generated-paths.js';
import { updateManifest } from './manifest.js';
import { MODEL_ROLES } from './schema.js';

export interface PrunePlan {
  remove: ManifestEntry[];
  /** Every kept model with why it is kept. */
  keep: { role: ModelRole; version: string; why: string }[];
}

/** The encoder versions a classifier entry was trained on (recorded by `train` in its preprocessing). */
export function encodersOf(classifier: ManifestEntry): string[] {
  const p = classifier.preprocessing as { textEncoder?: unknown; imageEncoder?: unknown };
  return [p.textEncoder, p.imageEncoder].filter((v): v is string => typeof v === 'string');
}

/**
 * Keeps, per role, the current model and the `keepPrevious` most recently created others (a rollback
 * target for `models use`), plus every encoder a kept classifier runs on and any version in `pinned`.
 * Everything else is planned for removal.
 */
export function planPrune(manifest: Manifest, keepPrevious: number, pinned: ReadonlyMap<string, string> = new Map()): PrunePlan {
  const why = new Map<string, string>();
  for (const role of MODEL_ROLES) {
    const current = manifest.current[role];
    if (current !== undefined) why.set(current, 'current');
    const previous = manifest.models
      .filter((m) => m.role === role && m.version !== current)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, keepPrevious);
    for (const m of previous) why.set(m.version, `one of the ${keepPrevious} most recent previous ${role} model(s)`);
  }
  for (const [version, reason] of pinned) if (!why.has(version)) why.set(version, reason);
  for (const m of manifest.models) {
    if (m.role !== 'classifier' || !why.has(m.version)) continue;
    for (const encoder of encodersOf(m)) if (!why.has(encoder)) why.set(encoder, `the kept classifier ${m.version} runs on it`);
  }
  return {
    remove: manifest.models.filter((m) => !why.has(m.version)),
    keep: manifest.models.filter((m) => why.has(m.version)).map((m) => ({ role: m.role, version: m.version, why: why.get(m.version)! })),
  };
}

/**
 * Drops the entries from the manifest under its lock. Refuses, changing nothing, when one of them became
 * current since the plan was made (`models use` or a registration running meanwhile).
 */
export async function removeFromManifest(modelsDir: string, versions: readonly string[]): Promise<Manifest> {
  const drop = new Set(versions);
  return updateManifest(modelsDir, (m) => {
    const nowCurrent = Object.values(m.current).filter((v): v is string => v !== undefined && drop.has(v));
    if (nowCurrent.length > 0) {
      throw new ModelError(
        'manifest-invalid',
        `${nowCurrent.join(', ')} became current while the prune was being planned; nothing was removed from the manifest. Run \`models prune\` again.`,
      );
    }
    return { ...m, models: m.models.filter((e) => !drop.has(e.version)) };
  });
}

/**
 * Deletes the removed models' files (those inside MODELS_DIR that no remaining entry lists), the report
 * of each removed classifier, and the training checkpoints that used a removed encoder. Returns the
 * paths deleted, relative to MODELS_DIR.
 */
export async function deleteModelFiles(modelsDir: string, removed: readonly ManifestEntry[], remaining: Manifest): Promise<string[]> {
  const root = path.resolve(modelsDir);
  const inside = (p: string) => {
    const rel = path.relative(root, path.resolve(p));
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  };
  const stillListed = new Set(remaining.models.flatMap((m) => m.files.map((f) => path.resolve(root, f.path))));
  const targets = new Set<string>();
  for (const entry of removed) {
    for (const f of entry.files) {
      const file = path.resolve(root, f.path);
      if (inside(file) && !stillListed.has(file)) targets.add(file);
    }
    if (entry.role === 'classifier') targets.add(classifierReportDir(root, entry.version));
  }
  // A checkpoint belongs to a pair of encoders (the next `train --resume` on them continues it): it goes
  // when either encoder of the pair does, not with a classifier.
  // An ensemble's members each have their own file beside it (<checkpoint>.member<i>).
  const versionsOf = (role: ModelRole) => [...remaining.models, ...removed].filter((m) => m.role === role).map((m) => m.version);
  const removedVersions = new Set(removed.map((e) => e.version));
  for (const text of versionsOf('text-encoder')) {
    for (const image of versionsOf('image-encoder')) {
      if (!removedVersions.has(text) && !removedVersions.has(image)) continue;
      const checkpoint = classifierCheckpointPath(root, text, image);
      targets.add(checkpoint);
      const siblings = await readdir(path.dirname(checkpoint)).catch(() => [] as string[]);
      for (const name of siblings) if (name.startsWith(`${path.basename(checkpoint)}.`)) targets.add(path.join(path.dirname(checkpoint), name));
    }
  }
  const deleted: string[] = [];
  for (const target of [...targets].sort()) {
    if (!inside(target)) continue;
    try {
      await rm(target, { recursive: true });
      deleted.push(path.relative(root, target));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return deleted;
}
