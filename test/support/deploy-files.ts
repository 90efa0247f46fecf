// Reading the deploy/ files the way the tests check them: the dashboard's PromQL expressions, the
// alert rules, and the metric selectors inside an expression.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/config.js';

export const DEPLOY = path.join(PROJECT_ROOT, 'deploy');
export const DASHBOARD_FILE = path.join(DEPLOY, 'grafana/dashboards/listing-pipeline.json');
export const ALERTS_FILE = path.join(DEPLOY, 'prometheus/rules/alerts.yml');

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { refId: string; expr?: string; datasource?: { type: string; uid: string } }[];
}

export function readDashboard(): { uid: string; title: string; panels: DashboardPanel[] } {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { uid: string; title: string; panels: DashboardPanel[] };
}

export function dashboardExpressions(): { panel: string; expr: string }[] {
  return readDashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: `${p.title} [${t.refId}]`, expr: t.expr ?? '' })));
}

export function alertRules(): { alert: string; expr: string; for?: string }[] {
  const doc = parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { rules: { alert?: string; expr: string; for?: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules.filter((r) => r.alert).map((r) => ({ alert: r.alert!, expr: r.expr.trim(), for: r.for })));
}

/** Grafana's interval variables replaced by a window that suits a 1 s scrape interval. */
export function forPrometheus(expr: string, window = '30s'): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, window);
}

/** The series selectors an expression reads, e.g. `listing_pipeline_queue_jobs{state="waiting"}`. */
export function selectorsOf(expr: string): string[] {
  const re = /\{__name__=~?"[^"]*"[^}]*\}|\b(?:listing_pipeline_[a-z0-9_]+|process_[a-z0-9_]+|nodejs_[a-z0-9_]+|up)\b(?:\{[^}]*\})?/g;
  return [...new Set(expr.match(re) ?? [])];
}

/** Metric names (histogram series reduced to their base name) an expression reads. */
export function metricNamesOf(expr: string): string[] {
  return [...new Set(selectorsOf(expr).flatMap((s) => {
    const m = /^([a-z_:][a-z0-9_:]*)/.exec(s);
    return m ? [m[1]!.replace(/_(bucket|sum|count)$/, '')] : [];
  }))];
}
