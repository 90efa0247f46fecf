// The queue admin UI (bull-board) is mounted behind HTTP Basic auth and is off without credentials.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './support/api.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';

describe('queue admin UI', () => {
  let t: TestPipeline;
  let api: TestApi;
  let off: TestApi;
  const auth = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

  beforeAll(async () => {
    t = await createTestPipeline();
    api = await startTestApi({ ...t.env, ADMIN_USER: 'ops', ADMIN_PASSWORD: 'correct-horse-battery' });
    off = await startTestApi({ ...t.env });
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    await off?.close();
    await t?.close();
  });

  it('refuses requests without or with wrong credentials', async () => {
    expect((await fetch(`${api.url}/admin/queues`)).status).toBe(401);
    expect((await fetch(`${api.url}/admin/queues`, { headers: auth('ops', 'wrong-password-123') })).status).toBe(401);
    expect((await fetch(`${api.url}/admin/queues/api/queues`, { headers: auth('root', 'correct-horse-battery') })).status).toBe(401);
  });

  it('serves the board and its queue data with the right credentials', async () => {
    const page = await fetch(`${api.url}/admin/queues`, { headers: auth('ops', 'correct-horse-battery') });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const res = await fetch(`${api.url}/admin/queues/api/queues`, { headers: auth('ops', 'correct-horse-battery') });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual(['image-clean', 'infer', 'schedule', 'text-embed']);
  });

  it('is disabled (404 with a reason) when no credentials are configured', async () => {
    const res = await fetch(`${off.url}/admin/queues`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error?: string; message?: string }).message ?? '').toMatch(/ADMIN_USER/);
  });
});
