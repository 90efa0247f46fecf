import { describe, expect, it } from 'vitest';
import { DEFAULT_TEXT_FEATURES, sparseRow } from './text-features.js';
import { runTextFits } from './text-fit-pool.js';
import type { TextFitTask } from './text-fit-task.js';

const WORDS = [['sofa', 'table', 'chair', 'lamp'], ['phone', 'charger', 'screen', 'case'], ['drill', 'saw', 'hammer', 'screws']];
const p = { ...DEFAULT_TEXT_FEATURES, bits: 12 };

function task(seed: number, keepModel: boolean): TextFitTask {
  const rows = [], labels = [];
  for (let i = 0; i < 60; i++) {
    const k = (i + seed) % 3;
    rows.push(sparseRow(`${WORDS[k]![i % 4]} ${WORDS[k]![(i + 1) % 4]} item ${i}`, p));
    labels.push(k);
  }
  return {
    rows, labels, buckets: 2 ** p.bits, classes: 3, fit: { epochs: 5, lr: 1, l2: 1e-6, seed }, keepModel,
    embed: [sparseRow('sofa lamp', p), sparseRow('phone case', p), sparseRow('hammer drill', p)],
  };
}

describe('text fits on worker threads', () => {
  it('give the same models and embeddings, in task order, as fitting in this thread', async () => {
    const tasks = [task(1, true), task(2, false), task(3, false), task(4, true)];
    const seen: number[] = [];
    const threaded = await runTextFits(tasks, 2, (done, total) => { seen.push(done); expect(total).toBe(4); });
    const inline = await runTextFits(tasks, 1);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(threaded.map((r) => r.model !== null)).toEqual([true, false, false, true]);
    threaded.forEach((r, i) => {
      expect(r.embeddings).toEqual(inline[i]!.embeddings);
      if (r.model) expect(r.model.weights).toEqual(inline[i]!.model!.weights);
      // The fitted models separate the three word groups.
      expect(r.embeddings.map((e) => e.indexOf(Math.max(...e)))).toEqual([0, 1, 2]);
    });
  });
});
