// Numeric command-line options. Number.parseInt("abc") is NaN, and a NaN limit, epoch count or seed
// does not fail by itself: it silently means "everything" or "no epochs" further down. Each value is
// checked where it is read, naming the flag.
import { InvalidArgumentError } from 'commander';

export type NumberRule = 'whole>=0' | 'whole>=1' | 'positive';

/** The value of `flag` as a number obeying `rule`; throws a message naming the flag otherwise. */
export function numberOption(flag: string, raw: string, rule: NumberRule): number {
  const n = Number(raw.trim() === '' ? Number.NaN : raw);
  const ok = rule === 'positive' ? Number.isFinite(n) && n > 0 : Number.isInteger(n) && n >= (rule === 'whole>=1' ? 1 : 0);
  if (!ok) {
    const want = rule === 'positive' ? 'a number above 0' : `a whole number of at least ${rule === 'whole>=1' ? 1 : 0}`;
    throw new InvalidArgumentError(`${flag} must be ${want}; got "${raw}".`);
  }
  return n;
}

/** A commander argument parser for numberOption (commander reports the error and exits 1). */
export const parseNumber = (flag: string, rule: NumberRule) => (raw: string): number => numberOption(flag, raw, rule);
