// Training report data: per-epoch curves, confusion matrix, accuracy, macro-F1 and per-class
// precision/recall on the validation listings. Charts are SVG strings (src/images can rasterise them).
import { argmax, confusionMatrix, perClassScores, type ClassScores } from '../../training/scores.js';
import { predictProbs, type ClassifierModel, type Sample } from './mlp.js';

export interface HeadAccuracy { combined: number | null; text: number | null; image: number | null; best: number }
export interface EpochRecord { epoch: number; lr: number; trainLoss: number; valLoss: number; trainAccuracy: HeadAccuracy; valAccuracy: HeadAccuracy }

export interface TrainingReport {
  history: EpochRecord[]; bestEpoch: number; stoppedEarly: boolean;
  validation: {
    listings: number; accuracy: number; macroF1: number; confusion: number[][];
    perClass: ClassScores[];
    heads: HeadAccuracy; imagePerPhotoAccuracy: number | null;
  };
}


/**
 * The listing's class probabilities from what it has: combined head when both inputs exist, else the one
 * present (averaged over an ensemble's members, as the exported graph does).
 */
export function bestProbs(m: ClassifierModel, s: Sample): Float32Array {
  const p = predictProbs(m, s);
  const z = p.combined ?? p.text ?? p.image;
  if (!z) throw new Error('A listing has neither text nor photo embeddings; it cannot be classified, so record it as skipped.');
  return z;
}

/** Summed per-head cross-entropy and each head's accuracy (an ensemble's heads average its members). */
export function evaluate(m: ClassifierModel, samples: Sample[]): { loss: number; accuracy: HeadAccuracy } {
  let loss = 0;
  const hits = { combined: [0, 0], text: [0, 0], image: [0, 0], best: [0, 0] };
  const score = (key: keyof typeof hits, p: Float32Array | null, label: number): void => {
    if (!p) return;
    hits[key][1]!++;
    if (argmax(p) === label) hits[key][0]!++;
    if (key !== 'best') loss += -Math.log(Math.max(p[label]!, 1e-12));
  };
  for (const s of samples) {
    const p = predictProbs(m, s);
    score('combined', p.combined, s.label); score('text', p.text, s.label); score('image', p.image, s.label);
    score('best', p.combined ?? p.text ?? p.image, s.label);
  }
  const acc = (k: keyof typeof hits) => (hits[k][1]! > 0 ? hits[k][0]! / hits[k][1]! : null);
  return { loss: loss / Math.max(1, samples.length), accuracy: { combined: acc('combined'), text: acc('text'), image: acc('image'), best: acc('best') ?? 0 } };
}

export function buildReport(m: ClassifierModel, val: { label: number; text: Float32Array | null; images: Float32Array[] }[], history: EpochRecord[], bestEpoch: number, stoppedEarly: boolean): TrainingReport {
  const K = m.shape.classes;
  const samples: Sample[] = val.map((v) => ({ label: v.label, text: v.text, image: v.images.length ? meanRows(v.images) : null }));
  const confusion = confusionMatrix(samples.map((s) => ({ truth: s.label, predicted: argmax(bestProbs(m, s)) })), K);
  let photoHits = 0, photos = 0;
  for (const v of val) for (const img of v.images) {
    photos++;
    if (argmax(predictProbs(m, { label: v.label, text: null, image: img }).image!) === v.label) photoHits++;
  }
  const perClass = perClassScores(confusion);
  const correct = confusion.reduce((a, r, k) => a + r[k]!, 0);
  // Macro-F1 over the classes that occur in the truth or the predictions, as scores() (evaluate) does: a
  // class absent from the validation listings and never predicted has no F1, not an F1 of 0.
  const present = perClass.filter((c, k) => c.support > 0 || confusion.some((r) => r[k]! > 0));
  return {
    history, bestEpoch, stoppedEarly,
    validation: {
      listings: val.length, accuracy: correct / Math.max(1, val.length), macroF1: present.reduce((a, c) => a + c.f1, 0) / Math.max(1, present.length),
      confusion, perClass, heads: evaluate(m, samples).accuracy, imagePerPhotoAccuracy: photos ? photoHits / photos : null,
    },
  };
}

function meanRows(xs: Float32Array[]): Float32Array {
  const m = new Float32Array(xs[0]!.length);
  for (const x of xs) for (let i = 0; i < m.length; i++) m[i]! += x[i]! / xs.length;
  return m;
}

/** Loss and accuracy curves as one SVG (two panels). */
export function curvesSvg(h: EpochRecord[]): string {
  const W = 360, Hh = 220, pad = 30;
  const panel = (x0: number, title: string, series: { name: string; color: string; ys: number[] }[]): string => {
    const all = series.flatMap((s) => s.ys).filter(Number.isFinite);
    const lo = Math.min(...all, 0), hi = Math.max(...all, 1e-9);
    const px = (i: number) => x0 + pad + (i / Math.max(1, h.length - 1)) * (W - 2 * pad);
    const py = (y: number) => Hh - pad - ((y - lo) / (hi - lo || 1)) * (Hh - 2 * pad);
    const lines = series.map((s, j) => `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.ys.map((y, i) => `${px(i).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/><text x="${x0 + pad + 5}" y="${pad + 14 * (j + 1)}" fill="${s.color}" font-size="11">${s.name}</text>`).join('');
    return `<g><text x="${x0 + pad}" y="18" font-size="13">${title}</text><rect x="${x0 + pad}" y="${pad}" width="${W - 2 * pad}" height="${Hh - 2 * pad}" fill="none" stroke="#999"/>${lines}<text x="${x0 + pad}" y="${Hh - 8}" font-size="10">epoch 1..${h.length}; y ${lo.toFixed(2)}..${hi.toFixed(2)}</text></g>`;
  };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${Hh}" style="background:#fff">${
    panel(0, 'loss', [{ name: 'train', color: '#1f77b4', ys: h.map((r) => r.trainLoss) }, { name: 'validation', color: '#d62728', ys: h.map((r) => r.valLoss) }])}${
    panel(W, 'validation accuracy', [{ name: 'combined', color: '#2ca02c', ys: h.map((r) => r.valAccuracy.combined ?? NaN) }, { name: 'text', color: '#ff7f0e', ys: h.map((r) => r.valAccuracy.text ?? NaN) }, { name: 'image', color: '#9467bd', ys: h.map((r) => r.valAccuracy.image ?? NaN) }])}</svg>`;
}

/** Row-normalised confusion matrix heat map. */
export function confusionSvg(confusion: number[][], names: string[]): string {
  const c = 26, left = 190, top = 20, K = confusion.length;
  const cells = confusion.flatMap((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    return row.map((v, j) => `<rect x="${left + j * c}" y="${top + i * c}" width="${c}" height="${c}" fill="rgb(${255 - Math.round((255 * v) / total)},${255 - Math.round((180 * v) / total)},255)"/><text x="${left + j * c + 4}" y="${top + i * c + 17}" font-size="10">${v}</text>`);
  });
  const labels = names.map((n, i) => `<text x="${left - 4}" y="${top + i * c + 17}" font-size="10" text-anchor="end">${n.replace(/&/g, '&amp;')}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${left + K * c + 10}" height="${top + K * c + 10}" style="background:#fff">${labels.join('')}${cells.join('')}</svg>`;
}
