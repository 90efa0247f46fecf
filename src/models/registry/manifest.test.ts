import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../config.js';
import type { ManifestEntry, ModelRole } from '../manifest-types.js';
import { ModelError } from './errors.js';
import { describeFile } from './hash.js';
import { withFileLock } from './lock.js';
import { currentModel, findModel, loadManifest, manifestPath, registerModel, setCurrentModel } from './manifest.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lp-manifest-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An entry whose file exists under dir with the right size and sha256, so it verifies. */
async function entryOnDisk(version: string, role: ModelRole = 'classifier'): Promise<ManifestEntry> {
  const file = path.join(dir, 'm', `${version}.onnx`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `model ${version}`);
  return { ...entry(version, role), files: [await describeFile(dir, file)] };
}

function entry(version: string, role: ModelRole = 'classifier'): ManifestEntry {
  return {
    role,
    name: 'test-model',
    version,
    runtime: 'onnxruntime',
    files: [{ path: `m/${version}.onnx`, sha256: 'a'.repeat(64), bytes: 1 }],
    inputs: [{ name: 'x', type: 'float32', shape: ['batch', 4] }],
    outputs: [{ name: 'y', type: 'float32', shape: ['batch', 13] }],
    preprocessing: {},
    createdAt: '2026-11-30T00:00:00Z',
  };
}

describe('loadManifest', () => {
  it('says to run setup when the manifest is missing', async () => {
    const err = await loadManifest(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).code).toBe('manifest-missing');
    expect((err as Error).message).toMatch(/no model manifest at .*manifest\.json\. Run `npm run cli -- setup`/);
  });

  it('rejects broken JSON and wrong shapes with the offending field', async () => {
    await writeFile(manifestPath(dir), '{"schemaVersion": 1, "current": {}, "models": [');
    await expect(loadManifest(dir)).rejects.toThrow(/is not valid JSON/);
    await writeFile(manifestPath(dir), JSON.stringify({ schemaVersion: 1, current: {}, models: [{ ...entry('v1'), role: 'oracle' }] }));
    await expect(loadManifest(dir)).rejects.toThrow(/models\.0\.role/);
    await writeFile(manifestPath(dir), JSON.stringify({ schemaVersion: 1, current: { classifier: 'ghost' }, models: [] }));
    await expect(loadManifest(dir)).rejects.toThrow(/names ghost as the current classifier model/);
  });
});

describe('registerModel', () => {
  it('creates the manifest, keeps entries current only when asked, and replaces a re-registered version', async () => {
    await registerModel(dir, await entryOnDisk('v1'), { makeCurrent: true });
    await registerModel(dir, entry('v2'));
    let m = await loadManifest(dir);
    expect(m.models.map((e) => e.version)).toEqual(['v1', 'v2']);
    expect(currentModel(m, 'classifier').version).toBe('v1');
    await registerModel(dir, { ...entry('v2'), notes: { again: true } }, { makeCurrent: true });
    m = await loadManifest(dir);
    expect(m.models).toHaveLength(2);
    expect(currentModel(m, 'classifier').notes).toEqual({ again: true });
    await setCurrentModel(dir, 'classifier', 'v1');
    expect(currentModel(await loadManifest(dir), 'classifier').version).toBe('v1');
  });

  it('refuses to make current a version whose files are missing or changed, and leaves the current one', async () => {
    await registerModel(dir, await entryOnDisk('good'), { makeCurrent: true });
    await registerModel(dir, entry('gone')); // its file m/gone.onnx was never written (or was deleted)
    await expect(setCurrentModel(dir, 'classifier', 'gone')).rejects.toMatchObject({ code: 'file-missing', message: expect.stringMatching(/classifier model gone cannot be used: the file .*gone\.onnx is missing/) });
    const changed = await entryOnDisk('changed');
    await registerModel(dir, changed);
    await writeFile(path.join(dir, changed.files[0]!.path), 'model chang3d'); // same size, other bytes
    await expect(setCurrentModel(dir, 'classifier', 'changed')).rejects.toMatchObject({ code: 'file-invalid' });
    expect((await loadManifest(dir)).current).toEqual({ classifier: 'good' });
  });

  it('keeps fields it does not know (written by a newer release) when rewriting', async () => {
    await registerModel(dir, { ...entry('v1'), futureField: 42 } as ManifestEntry);
    await registerModel(dir, entry('v2'));
    const raw = JSON.parse(await readFile(manifestPath(dir), 'utf8')) as { models: Record<string, unknown>[] };
    expect(raw.models[0]!['futureField']).toBe(42);
  });

  it('refuses a malformed entry and a version already used by another role', async () => {
    await expect(registerModel(dir, { ...entry('v1'), files: [] })).rejects.toThrow(/Refusing to register model v1/);
    await registerModel(dir, entry('v1'));
    await expect(registerModel(dir, entry('v1', 'text-encoder'))).rejects.toThrow(/already registered as a classifier/);
  });

  it('loses no entry when many registrations race in one process', async () => {
    await Promise.all(Array.from({ length: 25 }, (_, i) => registerModel(dir, entry(`p${i}`))));
    expect((await loadManifest(dir)).models).toHaveLength(25);
  });

  it('loses no entry and never exposes a torn file when two processes register at once', async () => {
    const script = path.join(dir, 'register.mts');
    const modulePath = path.join(PROJECT_ROOT, 'src/models/registry/manifest.ts');
    await writeFile(
      script,
      `import { registerModel } from ${JSON.stringify(modulePath)};
const [who, dir] = process.argv.slice(2);
for (let i = 0; i < 15; i++) {
  await registerModel(dir, { role: 'classifier', name: 't', version: who + i, runtime: 'onnxruntime',
    files: [{ path: 'm.onnx', sha256: '${'b'.repeat(64)}', bytes: 1 }], inputs: [], outputs: [],
    preprocessing: { padding: 'x'.repeat(20000) }, createdAt: 'now' });
}
`,
    );
    const run = (who: string) => promisify(execFile)(process.execPath, ['--import', 'tsx', script, who, dir], { cwd: PROJECT_ROOT });
    const writers = Promise.all([run('a'), run('b')]);
    // Read continuously while they write: every read must parse (rename is atomic) or find no file yet.
    let reads = 0;
    let finished = false;
    const done = () => {
      finished = true;
    };
    writers.then(done, done);
    while (!finished) {
      try {
        await loadManifest(dir);
        reads += 1;
      } catch (err) {
        if ((err as ModelError).code !== 'manifest-missing') throw err;
      }
    }
    await writers;
    const versions = (await loadManifest(dir)).models.map((e) => e.version).sort();
    expect(versions).toHaveLength(30);
    expect(reads).toBeGreaterThan(0);
  });
});

describe('currentModel and findModel', () => {
  it('explain unknown roles, versions and a missing current model', async () => {
    await registerModel(dir, entry('v1'));
    const m = await loadManifest(dir);
    expect(() => currentModel(m, 'classifier')).toThrow(/No classifier model is marked current.*models use classifier/);
    expect(() => currentModel(m, 'oracle' as ModelRole)).toThrow(/"oracle" is not a model role; use one of text-encoder, image-encoder, classifier/);
    expect(() => findModel(m, 'classifier', 'v9')).toThrow(/no classifier model with version "v9".*Registered classifier versions: v1\./);
    expect(() => findModel(m, 'text-encoder', 'v1')).toThrow(/No text-encoder model is registered/);
  });
});

describe('withFileLock', () => {
  it('takes over a lock abandoned by a killed process and times out on a live one', async () => {
    const lock = path.join(dir, 'x.lock');
    await writeFile(lock, '{}');
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    expect(await withFileLock(lock, async () => 'ran', { staleMs: 30_000 })).toBe('ran');
    await writeFile(lock, '{}');
    await expect(withFileLock(lock, async () => 'ran', { timeoutMs: 100 })).rejects.toThrow(/held the model manifest lock .* delete that file/);
  });

  it('lets exactly one of many waiters take over an abandoned lock at a time', async () => {
    const lock = path.join(dir, 'many.lock');
    for (let round = 0; round < 5; round++) {
      await writeFile(lock, '{}');
      const old = new Date(Date.now() - 60_000);
      await utimes(lock, old, old);
      let inside = 0, most = 0;
      const critical = async () => {
        most = Math.max(most, ++inside);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
      };
      await Promise.all(Array.from({ length: 12 }, () => withFileLock(lock, critical, { staleMs: 30_000 })));
      expect(most).toBe(1);
    }
  });
});
