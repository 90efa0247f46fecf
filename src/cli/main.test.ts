// The command line's failure contract: exit code 1 and, with --json, one JSON object on the last stdout
// line. Runs the real program in a child process; nothing here reaches Postgres or Redis.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../config.js';

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/cli/main.ts'), ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    // Port 1 refuses at once: no command below may reach a real database.
    env: { ...process.env, DATABASE_URL: 'postgres://postgres:cli-pa55word@127.0.0.1:1/postgres', DB_SCHEMA: 'cli_test_unused', ...env },
    timeout: 60_000,
  });
  const lines = r.stdout.trim().split('\n');
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, last: lines[lines.length - 1] ?? '' };
}

describe('cli failures', () => {
  it('ends stdout with a JSON error under --json when a command fails, and exits 1', () => {
    const r = cli(['migrate', '--json']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.last)).toEqual({ error: expect.stringMatching(/^Could not connect to Postgres at postgres:\/\/postgres@127\.0\.0\.1:1\/postgres/), exitCode: 1 });
    expect(r.stderr).toMatch(/error: Could not connect to Postgres/);
    expect(r.stdout + r.stderr).not.toContain('cli-pa55word');
  });

  it('does the same for a usage error and for an invalid configuration, without echoing secrets', () => {
    const usage = cli(['backfill', '--limit', 'x', '--json']);
    expect(usage.status).toBe(1);
    expect(JSON.parse(usage.last)).toMatchObject({ error: expect.stringMatching(/--limit must be a whole number of at least 1; got "x"/), exitCode: 1 });

    const config = cli(['migrate', '--json'], { WEBHOOK_SECRET: 'too-short-secret', JOB_ATTEMPTS: 'abc' });
    expect(config.status).toBe(1);
    expect(JSON.parse(config.last).error).toMatch(/JOB_ATTEMPTS: must be a whole number/);
    expect(config.stdout + config.stderr).not.toContain('too-short-secret');
  });

  it('prints help with exit code 0, and no JSON', () => {
    const r = cli(['migrate', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: listing-pipeline migrate/);
  });
});
