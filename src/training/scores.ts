// Classification scores for evaluation and training reports: top-1 accuracy (with its 95% interval),
// the confusion matrix, per-class precision/recall and macro-F1 over the
// classes seen. The interval says how far a held-out figure can be trusted: on 740 listings an
// accuracy near 86% is only known to about +-2.5 points.

export interface Scores {
  count: number;
  accuracy: number;
  /** Wilson score 95% interval of the accuracy ([0, 1] when there is no data). */
  accuracyCi95: [number, number];
  macroF1: number;
}

/** Wilson score interval for a proportion (95%, z = 1.96); better than the normal one near 0 and 1. */
export function wilsonInterval(successes: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = successes / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2n / (4 * n))) / (1 + z2n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export function scores(pairs: { truth: number; predicted: number }[], classes: number): Scores {
  const tp = new Array<number>(classes).fill(0);
  const fp = new Array<number>(classes).fill(0);
  const fn = new Array<number>(classes).fill(0);
  let correct = 0;
  for (const { truth, predicted } of pairs) {
    if (truth === predicted) {
      correct++;
      tp[truth]!++;
    } else {
      fp[predicted]!++;
      fn[truth]!++;
    }
  }
  // Macro-F1 averages over classes that occur in the truth or the predictions.
  let f1Sum = 0;
  let present = 0;
  for (let k = 0; k < classes; k++) {
    if (tp[k]! + fp[k]! + fn[k]! === 0) continue;
    present++;
    const denom = 2 * tp[k]! + fp[k]! + fn[k]!;
    f1Sum += denom === 0 ? 0 : (2 * tp[k]!) / denom;
  }
  return {
    count: pairs.length,
    accuracy: pairs.length ? correct / pairs.length : 0,
    accuracyCi95: wilsonInterval(correct, pairs.length),
    macroF1: present ? f1Sum / present : 0,
  };
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** Counts of (truth, predicted) pairs: rows are the true class, columns the predicted one. */
export function confusionMatrix(pairs: { truth: number; predicted: number }[], classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (const { truth, predicted } of pairs) m[truth]![predicted]!++;
  return m;
}

export interface ClassScores { code: number; precision: number; recall: number; f1: number; support: number }

/** Precision, recall, F1 and support of each class from a confusion matrix (rows: truth, columns: predicted). */
export function perClassScores(confusion: number[][]): ClassScores[] {
  return confusion.map((row, k) => {
    const tp = row[k]!, support = row.reduce((a, b) => a + b, 0), predicted = confusion.reduce((a, r) => a + r[k]!, 0);
    const precision = predicted ? tp / predicted : 0, recall = support ? tp / support : 0;
    return { code: k, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, support };
  });
}
