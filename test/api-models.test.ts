// The API with trained models, against the real pools: /predict/* in the research project's JSON shape,
// similar-listing ranking, text search, a webhook delivery that ends with a stored prediction, and
// the web page in headless Chromium; and model reloads (last: they change the served models).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchApiModels } from '../src/api/model-watcher.js';
import { buildServer } from '../src/api/server.js';
import { loadConfig } from '../src/config.js';
import { CATEGORY_NAMES } from '../src/domain/category.js';
import type { ManifestEntry, ModelRole } from '../src/models/manifest-types.js';
import { currentModel, loadManifest, registerModel } from '../src/models/registry/index.js';
import { browserPageTest, CHROMIUM_PATH } from './support/browser.js';
import { startTrainedApi, type TrainedApi } from './support/trained-api.js';

let s: TrainedApi;
let photoPath: string;
let photoBytes: Buffer;
let knownId: string;
let knownText: string;
let knownLocation: string;

interface Answer {
  Category: string;
  Probabilities: Record<string, number>;
  modality: string;
  modelVersion: string;
  similar?: { id: string; score: number; photoUrl: string | null }[];
}

function form(parts: { image?: Buffer; imageType?: string; text?: string; location?: string }): FormData {
  const f = new FormData();
  if (parts.image) f.append('image', new Blob([new Uint8Array(parts.image)], { type: parts.imageType ?? 'image/jpeg' }), 'photo.jpg');
  if (parts.text !== undefined) f.append('text', parts.text);
  if (parts.location !== undefined) f.append('location', parts.location);
  return f;
}

async function post(path: string, body: FormData | string, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.api.url}${path}`, { method: 'POST', body, headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function expectResearchShape(a: Answer) {
  expect(Object.keys(a.Probabilities)).toEqual([...CATEGORY_NAMES]);
  const values = Object.values(a.Probabilities);
  expect(values.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 3);
  expect(a.Probabilities[a.Category]).toBe(Math.max(...values));
}

beforeAll(async () => {
  s = await startTrainedApi({ env: { API_UPLOAD_MAX_BYTES: String(512 * 1024) } });
  const { rows } = await s.t.db.query<{ id: string; source_uri: string; name: string; description_raw: string; location: string }>(
    `SELECT l.id, i.source_uri, l.name, l.description_raw, l.location FROM listings l JOIN images i ON i.listing_id = l.id
     JOIN predictions p ON p.listing_id = l.id
     WHERE l.status = 'processed' AND i.status = 'cleaned' ORDER BY l.id LIMIT 1`,
  );
  knownId = rows[0]!.id;
  photoPath = rows[0]!.source_uri;
  knownText = `${rows[0]!.name} ${rows[0]!.description_raw}`;
  knownLocation = rows[0]!.location;
  photoBytes = await readFile(photoPath);
  await s.api.deps.index.sync();
}, 900_000);
afterAll(() => s?.close());

describe('POST /predict/*', () => {
  it('answers image, text and combined requests with Category and Probabilities', async () => {
    const image = await post('/predict/image', form({ image: photoBytes }));
    expect(image.status).toBe(200);
    expectResearchShape(image.body as unknown as Answer);
    expect(image.body.modality).toBe('image');

    const text = await post('/predict/text', form({ text: knownText }));
    expect(text.status).toBe(200);
    expectResearchShape(text.body as unknown as Answer);
    expect(text.body.modality).toBe('text');

    const combined = await post('/predict/combined?similar=5', form({ image: photoBytes, text: knownText }));
    expect(combined.status).toBe(200);
    const answer = combined.body as unknown as Answer;
    expectResearchShape(answer);
    expect(answer.modality).toBe('combined');
    expect(answer.similar).toHaveLength(5);

    const json = await post('/predict/text', JSON.stringify({ text: knownText }), { 'content-type': 'application/json' });
    expect(json.body.Category).toBe(text.body.Category);

    // The optional location feeds the text encoder's location view: same shape, other probabilities
    // (a vague text, so that the answer is not already certain from the words).
    const vague = 'good condition collection only';
    const unlocated = await post('/predict/text', form({ text: vague }));
    const located = await post('/predict/text', form({ text: vague, location: knownLocation }));
    expect(located.status).toBe(200);
    expectResearchShape(located.body as unknown as Answer);
    expect(located.body.Probabilities).not.toEqual(unlocated.body.Probabilities);
  });

  it('refuses bad uploads with the right status and no stack trace', async () => {
    const notImage = await post('/predict/image', form({ image: Buffer.from('this is plain text, not a photo'), imageType: 'text/plain' }));
    expect(notImage.status).toBe(415);
    expect(notImage.body.stack).toBeUndefined();
    const truncated = await post('/predict/image', form({ image: photoBytes.subarray(0, Math.floor(photoBytes.length / 2)) }));
    expect(truncated.status).toBe(422);
    const tooBig = await post('/predict/image', form({ image: Buffer.concat([photoBytes, Buffer.alloc(600 * 1024)]) }));
    expect(tooBig.status).toBe(413);
    expect((await post('/predict/image', form({ text: 'no photo' }))).status).toBe(400);
    expect((await post('/predict/text', form({ text: '! ? a' }))).status).toBe(422);
    const wrongType = await fetch(`${s.api.url}/predict/image`, { method: 'POST', body: 'x', headers: { 'content-type': 'application/xml' } });
    expect(wrongType.status).toBe(415);
  });
});

describe('ranking', () => {
  it('lists similar listings with scores, filtered by category on request', async () => {
    const res = await fetch(`${s.api.url}/listings/${knownId}/similar?k=8`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: { id: string; score: number; category: string; name: string }[] };
    expect(body.results).toHaveLength(8);
    expect(body.results.map((r) => r.id)).not.toContain(knownId);
    const scores = body.results.map((r) => r.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(body.results.every((r) => r.name)).toBe(true);

    const category = body.results[0]!.category;
    const filtered = (await (await fetch(`${s.api.url}/listings/${knownId}/similar?k=5&category=${encodeURIComponent(category)}`)).json()) as typeof body;
    expect(filtered.results.every((r) => r.category === category)).toBe(true);

    expect((await fetch(`${s.api.url}/listings/${knownId}/similar?k=0`)).status).toBe(400);
    expect((await fetch(`${s.api.url}/listings/${knownId}/similar?category=Nonsense`)).status).toBe(400);
    expect((await fetch(`${s.api.url}/listings/no-such-listing/similar`)).status).toBe(404);
  });

  it('searches by text', async () => {
    const res = await fetch(`${s.api.url}/search?q=${encodeURIComponent(knownText.slice(0, 60))}&k=5`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queryCategory: string; results: { id: string }[] };
    expect(CATEGORY_NAMES).toContain(body.queryCategory);
    expect(body.results).toHaveLength(5);
    expect((await fetch(`${s.api.url}/search`)).status).toBe(400);
  });
});

describe('webhook to stored prediction', () => {
  it('a signed delivery with an inline photo ends with a stored prediction, visible to /similar', async () => {
    const id = 'wh-predicted-1';
    const res = await s.api.deliver({
      id,
      name: 'Mountain bike, 21 gears',
      description: knownText,
      price: 85,
      location: 'Bristol',
      photos: [{ data: photoBytes.toString('base64') }],
    });
    expect(res.status).toBe(202);
    const deadline = Date.now() + 60_000;
    let status: { status: string; prediction: Answer | null } = { status: 'pending', prediction: null };
    // The prediction is written before the parent stage marks the listing processed: wait for both.
    while (Date.now() < deadline && !(status.prediction && status.status === 'processed')) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await (await fetch(`${s.api.url}/listings/${id}`)).json()) as typeof status;
    }
    expect(status.status).toBe('processed');
    expectResearchShape(status.prediction!);
    expect(status.prediction!.modality).toBe('combined');
    await s.api.deps.index.sync();
    const similar = await fetch(`${s.api.url}/listings/${id}/similar?k=3`);
    expect(similar.status).toBe(200);
  });
});

describe('operations', () => {
  it('is ready, documents itself and serves metrics', async () => {
    const ready = await fetch(`${s.api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { redis: { ok: true }, postgres: { ok: true }, models: { ok: true }, index: { ok: true } } });
    const doc = (await (await fetch(`${s.api.url}/docs/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/webhooks/listing-created', '/predict/combined', '/listings/{id}/similar', '/search']));
    expect((await fetch(`${s.api.url}/docs`, { redirect: 'follow' })).status).toBe(200);
    const metrics = await (await fetch(`${s.api.url}/metrics`)).text();
    expect(metrics).toMatch(/listing_pipeline_http_request_duration_seconds_bucket\{[^}]*route="\/predict\/combined"/);
    expect(metrics).toMatch(/listing_pipeline_search_index_listings\{[^}]*\} [1-9]\d*/);
  });
});

describe.skipIf(!existsSync(CHROMIUM_PATH))(`web page in headless Chromium (skipped: ${CHROMIUM_PATH} absent; apt-get install chromium)`, () => {
  it('categorises a dropped photo with text, shows similar listings, and searches', async () => {
    const seen = await browserPageTest(s.api.url, { photoPath, text: knownText, query: knownText.split(' ').slice(0, 3).join(' ') });
    expect(CATEGORY_NAMES).toContain(seen.category);
    expect(seen.bars).toBe(CATEGORY_NAMES.length);
    expect(seen.similar).toBeGreaterThan(0);
    expect(seen.similarPhotosLoaded).toBeGreaterThan(0);
    expect(seen.searchResults).toBeGreaterThan(0);
    expect(seen.errors).toEqual([]);
  });

  it('hides an earlier result beside a new error, says why, and predicts from text alone once the photo is removed', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.route('**/*', (route) => (route.request().url().startsWith(s.api.url) ? route.continue() : route.abort()));
      await page.goto(s.api.url);
      // A photo alone, then a real error: a photo over API_UPLOAD_MAX_BYTES (512 KiB here) is a 413.
      await page.setInputFiles('#photo', photoPath);
      await page.click('#predict-button');
      await page.waitForFunction("document.getElementById('modality').textContent === '(from image)'");
      await page.setInputFiles('#photo', { name: 'huge.jpg', mimeType: 'image/jpeg', buffer: Buffer.concat([photoBytes, Buffer.alloc(600 * 1024)]) });
      await page.click('#predict-button');
      await page.waitForSelector('#predict-error:not([hidden])');
      expect(await page.textContent('#predict-error')).toMatch(/larger than|too large/i);
      expect(await page.isHidden('#result')).toBe(true);
      // The photo can be removed again: the next prediction is from the text alone.
      await page.click('#clear-photo');
      expect(await page.isHidden('#preview')).toBe(true);
      await page.fill('#text', knownText.slice(0, 300));
      await page.click('#predict-button');
      await page.waitForFunction("document.getElementById('modality').textContent === '(from text)'");
      expect(await page.isHidden('#predict-error')).toBe(true);
      // A search error replaces earlier results, as text.
      await page.fill('#q', 'table');
      await page.press('#q', 'Enter');
      await page.waitForSelector('#search-results .card');
      await page.fill('#q', '! a ?');
      await page.press('#q', 'Enter');
      await page.waitForSelector('#search-error:not([hidden])');
      expect(await page.textContent('#search-error')).toMatch(/no words left/);
      expect(await page.locator('#search-results .card').count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe('request edges on the real models', () => {
  it('refuses text over the limit with 413 for every content type, and counts characters, not bytes', async () => {
    // A multipart field over the limit was cut off by the parser and the rest classified as the whole text.
    const long = await post('/predict/text', form({ text: 'solid oak table '.repeat(5000) }));
    expect(long.status).toBe(413);
    expect(long.body.message).toMatch(/"text" field is longer than 65536 characters/);
    const json = await fetch(`${s.api.url}/predict/text`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'oak '.repeat(20_000) }) });
    expect(json.status).toBe(413);
    const location = await fetch(`${s.api.url}/predict/combined`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'oak table', location: 'x'.repeat(70_000) }),
    });
    expect(location.status).toBe(413);
    const urlencoded = await post('/predict/text', `text=${'oak+'.repeat(20_000)}`, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(urlencoded.status).toBe(413);
    // 60,000 three-byte characters (180,000 bytes) are within the limit and classified.
    const wide = await post('/predict/text', form({ text: `${'€'.repeat(59_990)} oak table` }));
    expect(wide.status).toBe(200);
    expectResearchShape(wide.body as unknown as Answer);
  });

  it('answers 415 for a text/plain body and 422 for a search with no words left, as docs/api.md says', async () => {
    const plain = await post('/predict/text', 'oak table', { 'content-type': 'text/plain' });
    expect(plain.status).toBe(415);
    expect(plain.body).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type' });
    const search = await fetch(`${s.api.url}/search?q=${encodeURIComponent('! a ?')}`);
    expect(search.status).toBe(422);
    expect(((await search.json()) as { message: string }).message).toMatch(/no words left/);
  });

  it('finishes a request in flight when shutting down and answers one arriving during the drain 503 in the API error shape', async () => {
    const app = await buildServer(s.api.deps);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const socket = net.connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    socket.on('error', () => undefined);
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    // The request's headers and half its body arrive before the drain begins, the rest after it.
    const body = JSON.stringify({ text: knownText.slice(0, 200) });
    socket.write(`POST /predict/text HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    socket.write(body.slice(0, 10));
    await new Promise((r) => setTimeout(r, 300));
    const closed = app.close();
    await new Promise((r) => setTimeout(r, 200));
    socket.write(body.slice(10));
    // A second request on the same keep-alive connection, sent after the drain began.
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await closed;
    await Promise.race([ended, new Promise((r) => setTimeout(r, 3000))]);
    socket.destroy();
    const answers = received.split(/(?=HTTP\/1\.1 )/);
    expect(answers.map((a) => a.slice(0, 12))).toEqual(['HTTP/1.1 200', 'HTTP/1.1 503']);
    expect(answers[0]).toMatch(/"Category"/);
    const refused = JSON.parse(answers[1]!.slice(answers[1]!.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect(refused).toMatchObject({ statusCode: 503, error: 'Service Unavailable', message: expect.stringMatching(/shutting down/), requestId: expect.any(String) });
  });
});

describe('model reloads', () => {
  it('serves the encoders the classifier was trained on, and swaps a new matching set in at once when its predictions are stored', async () => {
    const deps = s.api.deps;
    const env = loadConfig(s.t.env);
    // Refreshed by hand below; the timer never fires during the test.
    const watcher = watchApiModels(deps, { ...env, INFER_MAX_DELAY_MS: env.API_BATCH_DELAY_MS, API_MODEL_RELOAD_MS: 3_600_000 });
    const before = deps.models;
    const beforeIndex = deps.index;
    const served = () => ({ text: deps.models.textEmbedder?.version, image: deps.models.imageEmbedder?.version, classifier: deps.models.classifier?.version });
    const trainedOn = served();
    try {
      const manifest = await loadManifest(env.MODELS_DIR);
      // Copies of the current entries under new versions (the files are the same; only versions matter here).
      const copy = async (role: ModelRole, extra: Partial<ManifestEntry> = {}) => {
        const entry = { ...currentModel(manifest, role), version: `${role}@reloaded-${Date.now()}`, ...extra };
        await registerModel(env.MODELS_DIR, entry, { makeCurrent: true });
        return entry;
      };

      // As after `setup` without `train`: newer encoders are current, but no classifier reads their vectors.
      const text = await copy('text-encoder');
      const image = await copy('image-encoder');
      await watcher.refresh();
      expect(served()).toEqual(trainedOn);
      expect(deps.models).toBe(before);
      const answer = await post('/predict/combined', form({ image: photoBytes, text: knownText }));
      expect(answer.status).toBe(200);
      expect(answer.body.modelVersion).toBe(trainedOn.classifier);

      // As after `train`: a classifier for the new encoders. Until `classify` has written its predictions,
      // the live set and its index stay (switching would leave /similar and /search with an empty index).
      const old = currentModel(manifest, 'classifier');
      const classifier = await copy('classifier', { preprocessing: { ...old.preprocessing, textEncoder: text.version, imageEncoder: image.version } });
      const liveRows = deps.index.size;
      expect(liveRows).toBeGreaterThan(0);
      await watcher.refresh();
      expect(served()).toEqual(trainedOn);
      expect(deps.index).toBe(beforeIndex);
      expect((await fetch(`${s.api.url}/listings/${knownId}/similar?k=3`)).status).toBe(200);
      // As after `classify`: its predictions (copies of the live ones, under its version). All three and its
      // index arrive in one swap, the index already filled.
      const copyPredictions = (version: string) =>
        s.t.db.query(
          `INSERT INTO predictions (listing_id, model_version, category, category_code, probabilities, modality, embedding)
           SELECT listing_id, $2, category, category_code, probabilities, modality, embedding FROM predictions WHERE model_version = $1`,
          [old.version, version],
        );
      await copyPredictions(classifier.version);
      await watcher.refresh();
      expect(served()).toEqual({ text: text.version, image: image.version, classifier: classifier.version });
      expect(deps.index.size).toBe(liveRows);
      expect(deps.index).not.toBe(beforeIndex);
      expect(deps.index.modelVersion).toBe(classifier.version);
      const after = await post('/predict/text', form({ text: knownText }));
      expect(after.status).toBe(200);
      expect(after.body.modelVersion).toBe(classifier.version);

      // A classifier whose encoder is not registered is refused (it was opened, then closed again),
      // and the live set stays.
      const swapped = deps.models;
      const orphan = await copy('classifier', { preprocessing: { ...old.preprocessing, textEncoder: 'text-encoder@unregistered' } });
      await copyPredictions(orphan.version);
      await expect(watcher.refresh()).rejects.toThrow(`Classifier ${orphan.version} was trained on text-encoder text-encoder@unregistered, which the manifest does not list`);
      expect(deps.models).toBe(swapped);
      expect((await post('/predict/text', form({ text: knownText }))).status).toBe(200);
    } finally {
      // The watcher closes what it replaced (the harness's models and index); close the set it swapped in,
      // and leave the harness nothing to close twice.
      await watcher.close();
      if (deps.models !== before) {
        await Promise.all([deps.models.textEmbedder?.close(), deps.models.imageEmbedder?.close(), deps.models.classifier?.close(), deps.index.close()]);
        Object.assign(s.models, { textEmbedder: null, imageEmbedder: null, classifier: null });
      }
    }
  });
});
