import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import type { ManifestEntry } from '../manifest-types.js';
import type { ModelLogger } from '../registry/errors.js';
import { describeFile } from '../registry/hash.js';
import { openModelSession } from './open.js';
import { providerInfo } from './providers.js';
import { createSession, describeSessionIo, Tensor } from './session.js';
import { tinyElementwiseModel } from './tiny-onnx.js';

// The CUDA provider library sits next to the onnxruntime binding only when it was installed.
const ortDir = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node'));
const cudaInstalled = existsSync(path.join(ortDir, '..', 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so'));

function captureLogger() {
  const lines: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
  const logger: ModelLogger = {
    info: (obj, msg) => lines.push({ level: 'info', msg, obj }),
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj }),
  };
  return { lines, logger };
}

let dir: string;
let modelPath: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lp-session-'));
  modelPath = path.join(dir, 'tiny.onnx');
  await writeFile(modelPath, tinyElementwiseModel(4));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function runTiny(run: (f: Record<string, Tensor>) => Promise<Record<string, Tensor>>): Promise<number[]> {
  const out = await run({ x: new Tensor('float32', Float32Array.from([-1, 0, 2, 3]), [1, 4]) });
  return Array.from(out['y']!.data as Float32Array);
}

describe('createSession', () => {
  it('runs on the CPU when cpu is the only provider and records it', async () => {
    const { lines, logger } = captureLogger();
    const s = await createSession(modelPath, { providers: ['cpu'], intraOpThreads: 1, logger, label: 'tiny-cpu' });
    expect(s.provider).toBe('cpu');
    expect(await runTiny(s.run)).toEqual([1, 1, 3, 4]);
    expect(providerInfo().find((p) => p.model === 'tiny-cpu')).toMatchObject({ provider: 'cpu', fallbackReason: null, sessions: 1 });
    expect(lines.some((l) => l.level === 'info' && /tiny-cpu runs on cpu/.test(l.msg))).toBe(true);
    await s.close();
    expect(providerInfo().find((p) => p.model === 'tiny-cpu')).toBeUndefined();
  });

  describe.skipIf(cudaInstalled)('without the CUDA provider library (installed with ONNXRUNTIME_NODE_INSTALL=skip)', () => {
    it('ORT_PROVIDERS=cuda,cpu falls back to a working CPU session and says why', async () => {
      const { providers } = { providers: loadConfig({ ORT_PROVIDERS: 'cuda,cpu' }).ORT_PROVIDERS };
      expect(providers).toEqual(['cuda', 'cpu']);
      const { lines, logger } = captureLogger();
      const s = await createSession(modelPath, { providers, logger, label: 'tiny-fallback' });
      expect(s.provider).toBe('cpu');
      expect(await runTiny(s.run)).toEqual([1, 1, 3, 4]);
      const info = providerInfo().find((p) => p.model === 'tiny-fallback');
      expect(info).toMatchObject({ provider: 'cpu', requested: ['cuda', 'cpu'] });
      expect(info?.fallbackReason).toMatch(/^cuda failed: /);
      expect(lines.some((l) => l.level === 'warn' && l.obj['provider'] === 'cuda')).toBe(true);
      expect(lines.some((l) => l.level === 'info' && /after falling back/.test(l.msg))).toBe(true);
      await s.close();
    });

    it('ORT_PROVIDERS=cuda alone fails with instructions instead of silently using the CPU', async () => {
      const { logger } = captureLogger();
      await expect(createSession(modelPath, { providers: ['cuda'], logger })).rejects.toThrow(/ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci.*ORT_PROVIDERS=cuda,cpu/s);
    });
  });

  it('a file that is not ONNX fails with a message naming the file', async () => {
    const bad = path.join(dir, 'bad.onnx');
    await writeFile(bad, 'not a model');
    const { logger } = captureLogger();
    await expect(createSession(bad, { providers: ['cpu'], logger })).rejects.toThrow(new RegExp(`could not load ${bad}`));
  });

  it('describeSessionIo reports names, types and symbolic dims', async () => {
    const { logger } = captureLogger();
    const s = await createSession(modelPath, { providers: ['cpu'], logger });
    expect(describeSessionIo(s.session)).toEqual({
      inputs: [{ name: 'x', type: 'float32', shape: ['batch', 4] }],
      outputs: [{ name: 'y', type: 'float32', shape: ['batch', 4] }],
    });
    await s.close();
  });
});

describe('openModelSession', () => {
  async function entryFor(outputs: string[]): Promise<ManifestEntry> {
    return {
      role: 'classifier',
      name: 'tiny',
      version: `tiny@${outputs.join('-')}`,
      runtime: 'onnxruntime',
      files: [await describeFile(dir, modelPath)],
      inputs: [{ name: 'x', type: 'float32', shape: ['batch', 4] }],
      outputs: outputs.map((name) => ({ name, type: 'float32', shape: ['batch', 4] })),
      preprocessing: {},
      createdAt: new Date().toISOString(),
    };
  }

  it('verifies the files, opens the session and labels it with the version', async () => {
    const { logger } = captureLogger();
    const m = await openModelSession(dir, await entryFor(['y']), { providers: ['cpu'], logger });
    expect(m.label).toBe('tiny@y');
    expect(await runTiny(m.run)).toEqual([1, 1, 3, 4]);
    await m.close();
  });

  it('refuses a session whose output names differ from the manifest', async () => {
    const { logger } = captureLogger();
    await expect(openModelSession(dir, await entryFor(['logits']), { providers: ['cpu'], logger })).rejects.toThrow(
      /has outputs \[y\] but the manifest lists \[logits\]/,
    );
    expect(providerInfo().find((p) => p.model === 'tiny@logits')).toBeUndefined();
  });
});
