import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestEntry } from '../manifest-types.js';
import { ModelError } from './errors.js';
import { describeFile, sha256File } from './hash.js';
import { checkSessionIo, verifyModelFiles } from './verify.js';

let dir: string;
let entry: ManifestEntry;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lp-verify-'));
  await mkdir(path.join(dir, 'm'));
  await writeFile(path.join(dir, 'm', 'a.onnx'), 'hello');
  await writeFile(path.join(dir, 'm', 'b.json'), '{"k":1}');
  entry = {
    role: 'classifier',
    name: 'combined',
    version: 'combined@1',
    runtime: 'onnxruntime',
    files: [await describeFile(dir, path.join(dir, 'm', 'a.onnx')), await describeFile(dir, path.join(dir, 'm', 'b.json'))],
    inputs: [{ name: 'image', type: 'float32', shape: ['batch', 128] }],
    outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 13] }],
    preprocessing: {},
    createdAt: '2026-11-30T00:00:00Z',
  };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sha256File / describeFile', () => {
  it('hashes the bytes and records a forward-slash path relative to MODELS_DIR', async () => {
    expect(await sha256File(path.join(dir, 'm', 'a.onnx'))).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(entry.files[0]).toEqual({ path: 'm/a.onnx', sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', bytes: 5 });
    await expect(describeFile(dir, path.join(tmpdir(), 'elsewhere.onnx'))).rejects.toThrow(/outside MODELS_DIR/);
  });
});

describe('verifyModelFiles', () => {
  it('passes for intact files and returns their paths and total size', async () => {
    const ok = await verifyModelFiles(dir, entry);
    expect(ok.paths).toEqual([path.join(dir, 'm', 'a.onnx'), path.join(dir, 'm', 'b.json')]);
    expect(ok.bytes).toBe(5 + 7);
  });

  it('names a missing file and says to retrain a trained model or pull a pulled one', async () => {
    const missing = { ...entry, files: [...entry.files, { path: 'm/gone.onnx', sha256: 'c'.repeat(64), bytes: 3 }] };
    const err = (await verifyModelFiles(dir, missing).catch((e: unknown) => e)) as ModelError;
    expect(err.code).toBe('file-missing');
    expect(err.message).toContain(`the file ${path.join(dir, 'm', 'gone.onnx')} is missing`);
    expect(err.message).toMatch(/Retrain it with `npm run cli -- setup`/);
    const pulled = { ...missing, notes: { source: 'pull' } };
    await expect(verifyModelFiles(dir, pulled)).rejects.toThrow(/Run `npm run cli -- models pull` to download combined again/);
  });

  it('reports a size mismatch and a checksum mismatch with expected and actual values', async () => {
    const wrongSize = { ...entry, files: [{ ...entry.files[0]!, bytes: 6 }] };
    await expect(verifyModelFiles(dir, wrongSize)).rejects.toThrow(/has 5 bytes but the manifest expects 6/);
    const wrongHash = { ...entry, files: [{ ...entry.files[0]!, sha256: 'f'.repeat(64) }] };
    const err = (await verifyModelFiles(dir, wrongHash).catch((e: unknown) => e)) as ModelError;
    expect(err.code).toBe('file-invalid');
    expect(err.message).toContain(`has sha256 ${entry.files[0]!.sha256} but the manifest expects ${'f'.repeat(64)}`);
  });

  it('refuses manifest paths that escape MODELS_DIR', async () => {
    const escaping = { ...entry, files: [{ path: '../etc/passwd', sha256: 'a'.repeat(64), bytes: 1 }] };
    await expect(verifyModelFiles(dir, escaping)).rejects.toThrow(/points outside MODELS_DIR/);
  });
});

describe('checkSessionIo', () => {
  it('accepts the same names in any order and names both sides of a mismatch', () => {
    expect(() => checkSessionIo(entry, { inputNames: ['image'], outputNames: ['logits'] })).not.toThrow();
    expect(() => checkSessionIo(entry, { inputNames: ['pixel_values'], outputNames: ['logits'] })).toThrow(
      /has inputs \[pixel_values\] but the manifest lists \[image\].*retrain it/,
    );
  });
});
