// Crash safety: SIGKILL the pools in the middle of a backfill, start them again, and the run must end
// in the same state as an undisturbed one: every listing processed once, no duplicate rows.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startPoolProcess } from '../src/pipeline/supervisor.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';

const fbm = path.join(loadConfig().SHARED_DIR, 'data', 'fbm');
const hasFbm = existsSync(path.join(fbm, 'Products.csv'));
const LIMIT = 250;

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** Process ids below pid (children, grandchildren, ...), from procps' pgrep. */
function descendants(pid: number): number[] {
  const out = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  return out.flatMap((c) => [c, ...descendants(c)]);
}

/** Running (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

describe.skipIf(!hasFbm)('SIGKILL of worker pools mid-backfill (skipped: ../shared/data/fbm absent)', () => {
  let t: TestPipeline;
  beforeAll(async () => {
    // Short locks so the killed pools' jobs are recovered as stalled within seconds.
    t = await createTestPipeline({ JOB_LOCK_MS: '3000', IMAGE_CLEAN_CONCURRENCY: '2' });
    t.startPools();
  });
  afterAll(async () => {
    // Stopping the (restarted) pools must take their sandboxed children with them, too.
    const children = t ? t.pools.flatMap((p) => (p.child.pid ? descendants(p.child.pid) : [])) : [];
    await t?.close();
    await waitFor(async () => children.every((pid) => !alive(pid)), 15_000);
  }, 300_000);

  it('recovers every listing without duplicates', async () => {
    const backfill = t.cli<{ newWork: number; incomplete?: string }>([
      'backfill', '--catalogue', fbm, '--limit', String(LIMIT),
    ]);
    // Kill once some, but not all, work is done.
    await waitFor(async () => {
      const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM images WHERE status = 'cleaned'`);
      return (rows[0]?.n ?? 0) >= 40;
    }, 120_000);
    // The image-clean pool forks sandboxed children; SIGKILL of a pool must not leave them behind.
    const children = t.pools.flatMap((p) => descendants(p.child.pid!));
    expect(children.length).toBeGreaterThan(0);
    for (const p of t.pools) p.child.kill('SIGKILL');
    await Promise.all(t.pools.map((p) => p.exited));
    await waitFor(async () => children.every((pid) => !alive(pid)), 15_000);
    const { rows: mid } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM listings WHERE status = 'pending'`);
    expect(mid[0]?.n).toBeGreaterThan(0);
    t.pools = (['image-clean', 'text-embed', 'infer'] as const).map((name) => startPoolProcess(name, { env: t.env, stdio: 'inherit' }));

    const s = await backfill;
    expect(s.incomplete).toBeUndefined();
    expect(s.newWork).toBe(LIMIT);
    const { rows } = await t.db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM listings GROUP BY 1');
    expect(Object.fromEntries(rows.map((r) => [r.status, r.n]))).toEqual({ processed: LIMIT });
    const { rows: imgs } = await t.db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM images GROUP BY 1');
    expect(imgs.map((r) => r.status)).toEqual(['cleaned']);
    // Keys make duplicates impossible; check the counts match the catalogue exactly anyway.
    const { rows: dup } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT id FROM images GROUP BY id HAVING count(*) > 1) d');
    expect(dup[0]?.n).toBe(0);
  }, 300_000);
});
