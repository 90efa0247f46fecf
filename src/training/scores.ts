// Classification scores for evaluation: top-1 accuracy and macro-F1 over the classes seen.

export interface Scores {
  count: number;
  accuracy: number;
  macroF1: number;
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
  return { count: pairs.length, accuracy: pairs.length ? correct / pairs.length : 0, macroF1: present ? f1Sum / present : 0 };
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
