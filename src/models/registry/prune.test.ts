import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { modelEntry } from '../../../test/support/model-entries.js';
import type { Manifest } from '../manifest-types.js';
import { classifierCheckpointPath, classifierReportDir } from './generated-paths.js';
import { loadManifest, writeManifest } from './manifest.js';
import { deleteModelFiles, planPrune, removeFromManifest } from './prune.js';

const entry = modelEntry;

/** Four generations of setup + train; generation 2 is current (rolled back to). */
function manifest(): Manifest {
  const models = [1, 2, 3, 4].flatMap((g) => [
    entry('text-encoder', `text@${g}`, g),
    entry('image-encoder', `image@${g}`, g),
    entry('classifier', `clf@${g}`, g, { text: `text@${g}`, image: `image@${g}` }),
  ]);
  return { schemaVersion: 1, current: { 'text-encoder': 'text@2', 'image-encoder': 'image@2', classifier: 'clf@2' }, models };
}

const versions = (entries: { version: string }[]) => entries.map((e) => e.version).sort();

describe('planPrune', () => {
  it('keeps the current model of each role and the newest previous ones, and removes the rest', () => {
    const p = planPrune(manifest(), 1);
    expect(versions(p.keep)).toEqual(['clf@2', 'clf@4', 'image@2', 'image@4', 'text@2', 'text@4']);
    expect(versions(p.remove)).toEqual(['clf@1', 'clf@3', 'image@1', 'image@3', 'text@1', 'text@3']);
    expect(p.keep.find((k) => k.version === 'clf@2')?.why).toBe('current');
    expect(versions(planPrune(manifest(), 0).keep)).toEqual(['clf@2', 'image@2', 'text@2']);
    expect(planPrune(manifest(), 10).remove).toEqual([]);
  });

  it('keeps the encoders a kept classifier runs on, and pinned versions with their encoders', () => {
    const m = manifest();
    // A classifier trained on older encoders than the current ones.
    m.models.push(entry('classifier', 'clf@5', 5, { text: 'text@1', image: 'image@3' }));
    const p = planPrune(m, 1, new Map([['clf@3', 'pinned for a reason']]));
    // clf@5 is the newest previous classifier, so clf@4 goes; text@1 and image@3 stay for clf@5, text@3 for clf@3.
    expect(versions(p.remove)).toEqual(['clf@1', 'clf@4', 'image@1']);
    expect(p.keep.find((k) => k.version === 'text@1')?.why).toBe('the kept classifier clf@5 runs on it');
    expect(p.keep.find((k) => k.version === 'clf@3')?.why).toBe('pinned for a reason');
  });
});

describe('removing pruned models', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lp-prune-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("deletes the removed models' files, reports and checkpoints, and nothing a kept model uses", async () => {
    const m = manifest();
    // One file shared by a removed and a kept entry.
    const shared = { path: 'shared/vocab.txt', sha256: 'b'.repeat(64), bytes: 1 };
    m.models.find((e) => e.version === 'text@1')!.files.push(shared);
    m.models.find((e) => e.version === 'text@2')!.files.push(shared);
    for (const f of [...m.models.flatMap((e) => e.files.map((x) => path.resolve(dir, x.path)))]) {
      await mkdir(path.dirname(f), { recursive: true });
      await writeFile(f, 'x');
    }
    for (let g = 1; g <= 4; g++) {
      await mkdir(classifierReportDir(dir, `clf@${g}`), { recursive: true });
      await writeFile(path.join(classifierReportDir(dir, `clf@${g}`), 'report.json'), '{}');
      await mkdir(path.dirname(classifierCheckpointPath(dir, `text@${g}`, `image@${g}`)), { recursive: true });
      await writeFile(classifierCheckpointPath(dir, `text@${g}`, `image@${g}`), '{}');
      // A 3-member ensemble's checkpoints sit beside it, one per member.
      for (const m of [1, 2, 3]) await writeFile(`${classifierCheckpointPath(dir, `text@${g}`, `image@${g}`)}.member${m}`, '{}');
    }
    await writeManifest(dir, m);

    const plan = planPrune(m, 1);
    const remaining = await removeFromManifest(dir, plan.remove.map((e) => e.version));
    expect(versions((await loadManifest(dir)).models)).toEqual(versions(plan.keep));
    const deleted = await deleteModelFiles(dir, plan.remove, remaining);

    expect(deleted).toEqual(expect.arrayContaining(['generated/clf_1.onnx', 'generated/text_3.onnx', 'generated/reports/clf_1', 'generated/reports/clf_3']));
    expect(deleted.filter((d) => d.includes('checkpoints'))).toHaveLength(8);
    expect((await readdir(path.join(dir, 'generated', 'checkpoints'))).sort()).toEqual(
      [2, 4].flatMap((g) => ['', '.member1', '.member2', '.member3'].map((m) => `${path.basename(classifierCheckpointPath(dir, `text@${g}`, `image@${g}`))}${m}`)).sort(),
    );
    const left = await readdir(path.join(dir, 'generated'));
    expect(left.filter((f) => f.endsWith('.onnx')).sort()).toEqual(['clf_2.onnx', 'clf_4.onnx', 'image_2.onnx', 'image_4.onnx', 'text_2.onnx', 'text_4.onnx']);
    expect((await readdir(path.join(dir, 'generated', 'reports'))).sort()).toEqual(['clf_2', 'clf_4']);
    expect(await readdir(path.join(dir, 'shared'))).toEqual(['vocab.txt']);
  });

  it('refuses to drop a version that became current meanwhile, changing nothing', async () => {
    const m = manifest();
    await writeManifest(dir, m);
    const plan = planPrune(m, 0);
    await writeManifest(dir, { ...m, current: { ...m.current, classifier: 'clf@1' } });
    await expect(removeFromManifest(dir, plan.remove.map((e) => e.version))).rejects.toThrow(/clf@1 became current while the prune was being planned/);
    expect((await loadManifest(dir)).models).toHaveLength(12);
  });
});
