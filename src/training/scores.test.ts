import { describe, expect, it } from 'vitest';
import { argmax, confusionMatrix, perClassScores, scores, wilsonInterval } from './scores.js';

describe('scores', () => {
  it('computes accuracy and macro-F1', () => {
    const s = scores(
      [
        { truth: 0, predicted: 0 },
        { truth: 0, predicted: 1 },
        { truth: 1, predicted: 1 },
        { truth: 2, predicted: 2 },
      ],
      3,
    );
    expect(s.accuracy).toBe(0.75);
    // class 0: P=1 R=.5 F1=2/3; class 1: P=.5 R=1 F1=2/3; class 2: 1
    expect(s.macroF1).toBeCloseTo((2 / 3 + 2 / 3 + 1) / 3, 10);
  });
  it('gives the Wilson 95% interval of the accuracy', () => {
    // 634 of 740 (85.7%): 83.0% to 88.0%, the width a held-out figure on the sample test split has.
    const [lo, hi] = wilsonInterval(634, 740);
    expect(lo).toBeCloseTo(0.8297, 3);
    expect(hi).toBeCloseTo(0.8802, 3);
    const [a, b] = wilsonInterval(10, 10);
    expect(b).toBe(1);
    expect(a).toBeCloseTo(0.7225, 3);
  });
  it('counts the confusion matrix by (truth, predicted) and reads per-class scores from it', () => {
    const m = confusionMatrix([{ truth: 0, predicted: 0 }, { truth: 0, predicted: 1 }, { truth: 1, predicted: 1 }, { truth: 2, predicted: 1 }], 3);
    expect(m).toEqual([[1, 1, 0], [0, 1, 0], [0, 1, 0]]);
    const [c0, c1, c2] = perClassScores(m);
    expect(c0).toMatchObject({ support: 2, precision: 1, recall: 0.5 });
    expect(c1).toMatchObject({ support: 1, recall: 1 });
    expect(c1!.precision).toBeCloseTo(1 / 3, 10);
    expect(c2).toMatchObject({ support: 1, precision: 0, recall: 0, f1: 0 });
  });
  it('is zero on no data and argmax picks the first maximum', () => {
    expect(scores([], 13)).toEqual({ count: 0, accuracy: 0, accuracyCi95: [0, 1], macroF1: 0 });
    expect(argmax([0.1, 0.5, 0.5])).toBe(1);
  });
});
