// The deterministic product-id split used for fitting, training and held-out evaluation: a listing's
// split depends on its id alone, so every command (fit, train, evaluate) agrees without a stored list.
import { createHash } from 'node:crypto';

export type Split = 'train' | 'val' | 'test';

/** Fraction in [0, 1) from the sha256 of the id. */
export function idFraction(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) / 2 ** 32;
}

/** 80 / 10 / 10 by id hash. `holdout: false` puts everything in train (production fits on all data). */
export function splitOf(id: string, opts: { holdout: boolean } = { holdout: true }): Split {
  const f = idFraction(id);
  if (!opts.holdout) return f < 0.9 ? 'train' : 'val';
  return f < 0.8 ? 'train' : f < 0.9 ? 'val' : 'test';
}
