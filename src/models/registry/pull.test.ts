// `models pull` end to end against a loopback HTTP server that plays the hub: it serves the mini BERT
// from SHARED_DIR as Xenova/bert-base-uncased and a tiny ResNet-shaped ONNX as Xenova/resnet-50.
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { openBertEncoder } from '../bert/open.js';
import { openModelSession } from '../runtime/open.js';
import { Tensor } from '../runtime/session.js';
import { tinyBackboneModel, tinyElementwiseModel } from '../runtime/tiny-onnx.js';
import { silentLogger } from './errors.js';
import { exposePooledFeatures } from './image-backbone.js';
import { loadManifest } from './manifest.js';
import { pullModels } from './pull.js';
import { verifyModelFiles } from './verify.js';

const MINI_BERT = path.join(loadConfig().SHARED_DIR, 'models', 'marketplace-mini-bert');
const present = existsSync(path.join(MINI_BERT, 'onnx', 'model.onnx'));
const title = present ? 'pullModels from a loopback hub' : `pullModels (skipped: ${MINI_BERT} is absent; set SHARED_DIR)`;

let work: string;
let server: Server;
let baseUrl: string;
const requests: string[] = [];

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'lp-pull-'));
  const resnetDir = path.join(work, 'hub-resnet');
  await mkdir(path.join(resnetDir, 'onnx'), { recursive: true });
  await writeFile(path.join(resnetDir, 'onnx', 'model.onnx'), tinyBackboneModel(5));
  await writeFile(path.join(resnetDir, 'preprocessor_config.json'), JSON.stringify({ image_mean: [0.5, 0.5, 0.5], image_std: [0.25, 0.25, 0.25] }));
  const roots: Record<string, string> = { '/Xenova/bert-base-uncased/resolve/main/': MINI_BERT, '/Xenova/resnet-50/resolve/main/': resnetDir };
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const prefix = Object.keys(roots).find((p) => req.url?.startsWith(p));
    const file = prefix ? path.join(roots[prefix]!, req.url!.slice(prefix.length)) : null;
    if (!file || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    void stat(file).then((s) => {
      res.writeHead(200, { 'content-length': s.size });
      createReadStream(file).pipe(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await rm(work, { recursive: true, force: true });
});

describe.skipIf(!present)(title, () => {
  it('downloads both encoders, registers them (not current) and they verify and run', async () => {
    const modelsDir = path.join(work, 'models-a');
    const entries = await pullModels(modelsDir, { baseUrl, logger: silentLogger, maxTokens: 20 });
    expect(entries.map((e) => [e.role, e.name])).toEqual([
      ['text-encoder', 'bert-base-uncased'],
      ['image-encoder', 'resnet-50'],
    ]);
    expect(requests).toContain('/Xenova/bert-base-uncased/resolve/main/onnx/model.onnx');
    const manifest = await loadManifest(modelsDir);
    expect(manifest.current).toEqual({});
    expect(manifest.models).toHaveLength(2);
    const [bert, resnet] = entries as [(typeof entries)[0], (typeof entries)[0]];
    expect(bert.files[0]!.path).toMatch(/^pulled\/bert-base-uncased\/[0-9a-f]{12}\/config\.json$/);
    expect(bert.notes).toMatchObject({ source: 'pull', hubRepo: 'Xenova/bert-base-uncased' });
    await verifyModelFiles(modelsDir, bert);
    await verifyModelFiles(modelsDir, resnet);

    const enc = await openBertEncoder(modelsDir, bert, { intraOpThreads: 1 });
    expect((await enc.encode(['garden table']))[0]!.length).toBe(192);
    await enc.close();

    // The backbone now outputs the pooled features: for the tiny model, the per-channel means.
    expect(resnet).toMatchObject({ embeddingDim: 3, outputs: [{ name: 'image_features' }] });
    expect(resnet.preprocessing).toMatchObject({ mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], size: 128, output: 'image_features' });
    const img = await openModelSession(modelsDir, resnet, { providers: ['cpu'], logger: silentLogger });
    const pixels = new Float32Array(2 * 3 * 4 * 4).map((_, i) => Math.floor(i / 16));
    const out = await img.run({ pixel_values: new Tensor('float32', pixels, [2, 3, 4, 4]) });
    expect(out['image_features']!.dims).toEqual([2, 3]);
    expect(Array.from(out['image_features']!.data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5]);
    await img.close();
  });

  it('re-pulling identical files is idempotent and leaves no staging folders', async () => {
    const modelsDir = path.join(work, 'models-b');
    const first = await pullModels(modelsDir, { baseUrl, only: ['bert-base-uncased'] });
    const second = await pullModels(modelsDir, { baseUrl, only: ['bert-base-uncased'] });
    expect(second[0]!.version).toBe(first[0]!.version);
    expect((await loadManifest(modelsDir)).models).toHaveLength(1);
    expect((await readdir(path.join(modelsDir, 'pulled'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('a missing hub file fails with the URL and HTTP status, and registers nothing', async () => {
    const modelsDir = path.join(work, 'models-c');
    await expect(pullModels(modelsDir, { baseUrl, revision: 'no-such-rev' })).rejects.toThrow(
      /Downloading http:\/\/127\.0\.0\.1:\d+\/Xenova\/bert-base-uncased\/resolve\/no-such-rev\/config\.json failed with HTTP 404/,
    );
    expect(existsSync(path.join(modelsDir, 'manifest.json'))).toBe(false);
    expect((await readdir(path.join(modelsDir, 'pulled'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('accepts a file:// mirror with the hub layout', async () => {
    const mirror = path.join(work, 'mirror');
    await mkdir(path.join(mirror, 'Xenova', 'bert-base-uncased', 'resolve'), { recursive: true });
    await symlink(MINI_BERT, path.join(mirror, 'Xenova', 'bert-base-uncased', 'resolve', 'main'));
    const modelsDir = path.join(work, 'models-d');
    const [entry] = await pullModels(modelsDir, { baseUrl: pathToFileURL(mirror).href, only: ['bert-base-uncased'] });
    expect(entry!.embeddingDim).toBe(192);
  });
});

describe('pullModels without a route to the hub', () => {
  it('says why the connection failed and registers nothing', async () => {
    // A port that was just free: the connection is refused, as a firewalled or offline hub would be.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const modelsDir = path.join(work, 'models-offline');
    await expect(pullModels(modelsDir, { baseUrl: `http://127.0.0.1:${port}` })).rejects.toThrow(
      /Downloading http:\/\/127\.0\.0\.1:\d+\/Xenova\/bert-base-uncased\/resolve\/main\/config\.json failed \(fetch failed: .*ECONNREFUSED.*\)\. Check the network route/,
    );
    expect(existsSync(path.join(modelsDir, 'manifest.json'))).toBe(false);
    expect(await readdir(path.join(modelsDir, 'pulled'))).toEqual([]);
  });
});

describe('exposePooledFeatures', () => {
  it('refuses a model with no GlobalAveragePool, saying what to pick instead', async () => {
    const src = path.join(work, 'not-resnet.onnx');
    await writeFile(src, tinyElementwiseModel(4));
    await expect(exposePooledFeatures(src, path.join(work, 'out.onnx'))).rejects.toThrow(/not a ResNet-style backbone/);
  });
});
