// Checkpoint files: JSON with Float32Arrays as base64, so a resumed run continues bit-for-bit.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ClassifierParams, ClassifierShape } from './mlp.js';
import type { EpochRecord } from './report.js';

export interface CheckpointState {
  shape: ClassifierShape;
  epoch: number;
  step: number;
  rngState: number;
  params: ClassifierParams;
  adamM: Record<string, Float32Array>;
  adamV: Record<string, Float32Array>;
  best: ClassifierParams;
  bestEpoch: number;
  bestValLoss: number;
  badEpochs: number;
  history: EpochRecord[];
  /** runFingerprint of the run that wrote it: resuming is refused when the run differs (absent in older files). */
  fingerprint?: string;
}

const enc = (a: Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const dec = (s: string): Float32Array => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const encRec = (r: object): Record<string, string> =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, enc(v as Float32Array)]));
const decRec = <T>(r: Record<string, string>): T => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, dec(v)])) as T;

export function saveCheckpoint(path: string, s: CheckpointState): void {
  const json = JSON.stringify({
    ...s, params: encRec(s.params), best: encRec(s.best), adamM: encRec(s.adamM), adamV: encRec(s.adamV),
    bestValLoss: Number.isFinite(s.bestValLoss) ? s.bestValLoss : null,
  });
  // Write-then-rename so a crash mid-write never leaves a truncated checkpoint behind.
  writeFileSync(`${path}.tmp`, json);
  renameSync(`${path}.tmp`, path);
}

export function loadCheckpoint(path: string): CheckpointState {
  if (!existsSync(path)) throw new Error(`Checkpoint ${path} does not exist; train without resume first or pass the right path.`);
  const j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  return {
    ...(j as unknown as CheckpointState),
    params: decRec(j.params as Record<string, string>), best: decRec(j.best as Record<string, string>),
    adamM: decRec(j.adamM as Record<string, string>), adamV: decRec(j.adamV as Record<string, string>),
    bestValLoss: j.bestValLoss === null ? Infinity : (j.bestValLoss as number),
  };
}
