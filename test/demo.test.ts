// The main job (`npm start` = `demo`) on the built-in catalogue, as on a fresh machine without
// ../shared: held-out figures first; then `--no-holdout` refits on every labelled listing and skips the
// held-out scores; after that, `evaluate --split test` says the figures are in-sample.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPipeline, type TestPipeline } from './support/pipeline.js';

interface DemoSummary {
  catalogue: string;
  fit: { textVersion: string } | null;
  train: { version: string } | null;
  classify: { modelVersion: string };
  evaluation: { listings: number; testSplitSeenBy: string[]; combined: { count: number; accuracy: number } } | null;
}

describe('demo (npm start) on the built-in catalogue', () => {
  let t: TestPipeline;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'demo-'));
    // No ../shared here: the demo must generate and use its own small catalogue.
    t = await createTestPipeline({ SHARED_DIR: path.join(dir, 'no-shared'), VAR_DIR: path.join(dir, 'var'), MODELS_DIR: path.join(dir, 'models'), LOG_LEVEL: 'error' });
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('scores the held-out split, then --no-holdout fits on everything and says its figures would be in-sample', async () => {
    // Half the built-in catalogue (its categories are interleaved, so every class is in it) keeps CI short.
    const limit = ['--limit', '260'];
    const first = await t.cli<DemoSummary>(['demo', ...limit]);
    expect(first.catalogue).toBe('builtin');
    expect(first.fit).not.toBeNull();
    expect(first.evaluation?.testSplitSeenBy).toEqual([]);
    expect(first.evaluation!.combined.count).toBe(first.evaluation!.listings);
    expect(first.evaluation!.combined.count).toBeGreaterThan(10);
    // Far above the 1/13 of chance on the generated sample, which is learnable by design.
    expect(first.evaluation!.combined.accuracy).toBeGreaterThan(0.5);

    // Training "on everything" on encoders fitted with the split held out is refused: their out-of-fold
    // vectors leave the test listings out, and the classifier would record that it saw them.
    await expect(t.cli(['train', '--no-holdout', '--epochs', '2'])).rejects.toThrow(/fitted with the test split held out[\s\S]*setup --no-holdout/);
    // With no catalogue named, evaluate scores the test split of the default catalogue (the one fitted on), not all of it.
    const byDefault = await t.cli<{ listings: number; testSplitSeenBy: string[] }>(['evaluate', ...limit]);
    expect(byDefault.listings).toBe(first.evaluation!.listings);
    // A new `setup` leaves the classifier on the encoders before it: the next run trains again and still scores.
    await t.cli(['setup']);
    const afterSetup = await t.cli<DemoSummary>(['demo', ...limit]);
    expect(afterSetup.fit).toBeNull();
    expect(afterSetup.train).not.toBeNull();
    expect(afterSetup.evaluation!.combined.count).toBe(afterSetup.evaluation!.listings);

    // Models fitted with the split held out do not satisfy --no-holdout: it fits and trains again.
    const all = await t.cli<DemoSummary>(['demo', '--no-holdout', ...limit]);
    expect(all.fit).not.toBeNull();
    expect(all.fit!.textVersion).not.toBe(first.fit!.textVersion);
    expect(all.train).not.toBeNull();
    expect(all.evaluation).toBeNull();
    expect(all.classify.modelVersion).toBe(all.train!.version);

    // Rerun: the models already cover every listing, so nothing is fitted again.
    const again = await t.cli<DemoSummary>(['demo', '--no-holdout', ...limit]);
    expect(again.fit).toBeNull();
    expect(again.train).toBeNull();

    const evaluation = await t.cli<{ testSplitSeenBy: string[] }>(['evaluate', '--split', 'test', ...limit]);
    expect(evaluation.testSplitSeenBy).toEqual(['textEncoder', 'imageEncoder', 'classifier']);
  }, 600_000);
});
