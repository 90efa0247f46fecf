// A real Prometheus scrapes the worker pools, the scheduler (and the API when it exists) while a small
// nightly backfill and a few live listings pass through; then every PromQL expression of the Grafana
// dashboard and of the alert rules is run against it. An expression that returns nothing fails: it
// names a metric or label that no process exports.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSampleCatalogue } from '../src/catalogue/generate-sample.js';
import { CatalogueReader } from '../src/catalogue/catalogue-reader.js';
import { PROJECT_ROOT } from '../src/config.js';
import { catalogueWork } from '../src/pipeline/backfill.js';
import { submitListings } from '../src/pipeline/submit-listings.js';
import type { PoolName } from '../src/pipeline/start-pool.js';
import { startAllPools } from '../src/pipeline/supervisor.js';
import { ListingFlowProducer } from '../src/queues/flows.js';
import { alertRules, ALERTS_FILE, dashboardExpressions, forPrometheus, metricNamesOf, selectorsOf } from './support/deploy-files.js';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';
import { freePort, PROMETHEUS_MISSING, startPrometheus, waitFor, which, type TestPrometheus } from './support/prometheus.js';

const API_ENTRY = path.join(PROJECT_ROOT, 'src/api/main.ts');
const API_METRICS = new Set(['listing_pipeline_http_request_duration_seconds', 'listing_pipeline_webhook_deliveries_total']);
/** Metrics that exist only once a model ran (predictions, batches, sessions). */
const MODEL_METRICS = new Set([
  'listing_pipeline_predictions_total',
  'listing_pipeline_prediction_top_probability',
  'listing_pipeline_inference_batch_size',
  'listing_pipeline_inference_seconds',
  'listing_pipeline_execution_provider_info',
  'listing_pipeline_model_sessions',
]);
type Group = 'pipeline' | 'model' | 'api';
const groupOf = (expr: string): Group => {
  const names = metricNamesOf(expr);
  if (names.some((n) => API_METRICS.has(n))) return 'api';
  if (names.some((n) => MODEL_METRICS.has(n))) return 'model';
  return 'pipeline';
};

function startProcess(args: string[], env: Record<string, string>): { child: ChildProcess; stop: () => Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: PROJECT_ROOT, env, stdio: 'inherit' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

describe.skipIf(!which('prometheus'))(`dashboard and alert expressions against a real Prometheus (${PROMETHEUS_MISSING})`, () => {
  let t: TestPipeline;
  let prom: TestPrometheus;
  let dir: string;
  let predictions = 0;
  let apiError: Error | null = null;
  const extra: { stop: () => Promise<void> }[] = [];
  const apiPresent = existsSync(API_ENTRY);

  /** Runs each expression; returns those that came back empty. */
  async function empty(items: { name: string; expr: string }[]): Promise<string[]> {
    const out: string[] = [];
    for (const { name, expr } of items) {
      const result = await prom.query(forPrometheus(expr));
      if (result.length === 0) out.push(`${name}: ${expr}`);
    }
    return out;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ops-prom-'));
    const sample = await generateSampleCatalogue(path.join(dir, 'nightly'), { listingsPerCategory: 3, seed: 21, photoSize: 64 });
    const live = await generateSampleCatalogue(path.join(dir, 'live'), { listingsPerCategory: 1, seed: 22, photoSize: 64 });
    t = await createTestPipeline({ NIGHTLY_CRON: '0 3 * * *', MODELS_DIR: path.join(dir, 'models') });
    const ports: Record<string, number> = {};
    for (const job of ['image-clean', 'text-embed', 'infer', 'scheduler', 'api']) ports[job] = await freePort();
    t.pools = startAllPools({ env: t.env, envFor: (p: PoolName) => ({ METRICS_PORT: String(ports[p]) }), stdio: 'inherit' });
    extra.push(startProcess(['workers/scheduler.ts'], { ...t.env, METRICS_PORT: String(ports.scheduler) }));
    const jobs: Record<string, number[]> = { 'image-clean': [ports['image-clean']!], 'text-embed': [ports['text-embed']!], infer: [ports.infer!], scheduler: [ports.scheduler!] };
    if (apiPresent) {
      extra.push(startProcess([API_ENTRY], { ...t.env, API_PORT: String(ports.api), API_HOST: '127.0.0.1', WEBHOOK_SECRET: 'ops-test-secret-0123456789' }));
      jobs.api = [ports.api!];
    }
    prom = await startPrometheus({ jobs, ruleFiles: [ALERTS_FILE] });
    await waitFor('every target to be up', async () => (await prom.targets()).every((x) => x.health === 'up') && (await prom.targets()).length === Object.keys(jobs).length, 90_000);

    // The nightly backfill, triggered as an operator would, run by the scheduler process.
    const nightly = await t.cli<{ state: string; result: { outcome: string } }>(['schedule', 'run-now', '--catalogue', path.dirname(sample.productsPath)]);
    expect(nightly.state).toBe('completed');
    expect(nightly.result.outcome).toBe('finished');

    // Models fitted and trained on what the run stored; the pools pick them up within their reload
    // period (5 s), then `classify` predicts every stored listing on the infer pool.
    await t.cli(['setup', '--no-holdout']);
    await t.cli(['train', '--no-holdout', '--epochs', '5', '--no-progress']);
    await waitFor('the infer pool to load the classifier', async () =>
      (await prom.query('listing_pipeline_execution_provider_info{job="infer", role="classifier"}')).length > 0,
    );
    await new Promise((r) => setTimeout(r, 6000)); // the text-embed pool reloads on the same period
    const classified = await t.cli<{ incomplete?: string }>(['classify']);
    expect(classified.incomplete).toBeUndefined();

    // A few live listings (outside any run, as the webhook submits them) for the live latency series.
    const redis = new Redis(t.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    const producer = new ListingFlowProducer(redis, { ...t.config, QUEUE_PREFIX: t.prefix });
    const pieces = catalogueWork(await CatalogueReader.open(live), 3);
    const work = (await pieces.next()).value!;
    await pieces.return(undefined); // closes the catalogue file it was reading
    const submitted = await submitListings({ db: t.db, producer }, { process: work.process.slice(0, 3), skip: [], source: 'webhook', runId: null });
    await producer.close();
    redis.disconnect();
    expect(submitted.enqueued.length).toBe(3);
    await waitFor('the live listings to finish', async () => {
      const { rows } = await t.db.query<{ n: number }>(`SELECT count(*) AS n FROM listings WHERE status = 'pending'`);
      return rows[0]!.n === 0;
    });

    if (apiPresent) {
      try {
        const base = `http://127.0.0.1:${ports.api}`;
        await waitFor('the API to answer /healthz', async () => (await fetch(`${base}/healthz`)).ok, 60_000);
        await fetch(`${base}/listings/${work.process[0]!.listing.id}`);
        // An unsigned delivery is refused and counted (outcome bad_signature).
        await fetch(`${base}/webhooks/listing-created`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      } catch (err) {
        apiError = err as Error;
      }
    }
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*) AS n FROM predictions');
    predictions = rows[0]!.n;
    // Let Prometheus scrape the final state of every process at least twice (rate() needs two samples).
    await waitFor('Prometheus to hold the live end-to-end latency', async () =>
      (await prom.query('listing_pipeline_listing_end_to_end_seconds_count{source="live"}')).some((s) => Number(s.value[1]) >= 3),
    );
    await new Promise((r) => setTimeout(r, 3000));
  }, 300_000);

  afterAll(async () => {
    await prom?.close();
    for (const p of extra) await p.stop();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('scrapes every process', async () => {
    const targets = await prom.targets();
    expect(targets.filter((x) => x.health !== 'up')).toEqual([]);
  });

  it('returns data for every dashboard expression about the flow, failures, runs and resources', async () => {
    const items = dashboardExpressions().filter((e) => groupOf(e.expr) === 'pipeline').map((e) => ({ name: e.panel, expr: e.expr }));
    expect(items.length).toBeGreaterThan(15);
    expect(await empty(items)).toEqual([]);
  });

  it.skipIf(!apiPresent)('returns data for every dashboard expression about the API (src/api is present)', async () => {
    if (apiError) throw apiError;
    const items = dashboardExpressions().filter((e) => groupOf(e.expr) === 'api').map((e) => ({ name: e.panel, expr: e.expr }));
    expect(items.length).toBeGreaterThan(0);
    expect(await empty(items)).toEqual([]);
  });

  it('returns data for every model-behaviour expression (category mix, confidence, batches, provider)', async () => {
    expect(predictions).toBeGreaterThan(0);
    const items = dashboardExpressions().filter((e) => groupOf(e.expr) === 'model').map((e) => ({ name: e.panel, expr: e.expr }));
    expect(items.length).toBeGreaterThanOrEqual(5);
    expect(await empty(items)).toEqual([]);
  });

  it('shows the image encoder of the sandboxed image-clean children on the pool /metrics', async () => {
    // The live listings went through image-clean after `setup`: each child embedded its photo and the
    // parent recorded the encoder's provider and time from the job's result.
    const provider = await prom.query('listing_pipeline_execution_provider_info{job="image-clean", role="image-encoder"}');
    expect(provider.map((s) => s.metric['provider'])).toEqual(['cpu']);
    const calls = await prom.query('listing_pipeline_inference_seconds_count{job="image-clean", role="image-encoder"}');
    expect(calls.length).toBe(1);
    expect(Number(calls[0]!.value[1])).toBeGreaterThanOrEqual(3);
  });

  it('evaluates every alert rule, and every series each rule reads has data', async () => {
    const missing: string[] = [];
    for (const rule of alertRules()) {
      // The rule as written must be valid PromQL that Prometheus can evaluate (it may be quiet).
      await prom.query(rule.expr);
      for (const sel of selectorsOf(rule.expr)) {
        if ((await prom.query(sel)).length === 0) missing.push(`${rule.alert}: ${sel}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('loaded the alert rules into Prometheus', async () => {
    const res = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } };
    const rules = res.data.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name).sort()).toEqual(alertRules().map((r) => r.alert).sort());
    expect(rules.filter((r) => r.health === 'err')).toEqual([]);
  });
});
