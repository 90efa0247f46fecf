import { describe, expect, it } from 'vitest';
import { numberOption } from './options.js';

describe('numeric command-line options', () => {
  it('reads valid values', () => {
    expect(numberOption('--limit', '25', 'whole>=1')).toBe(25);
    expect(numberOption('--seed', '0', 'whole>=0')).toBe(0);
    expect(numberOption('--lr', '0.001', 'positive')).toBe(0.001);
  });

  it('refuses what parseInt would have turned into NaN or a silent truncation, naming the flag', () => {
    expect(() => numberOption('--limit', 'abc', 'whole>=1')).toThrow('--limit must be a whole number of at least 1; got "abc".');
    expect(() => numberOption('--limit', '10x', 'whole>=1')).toThrow(/--limit/);
    expect(() => numberOption('--epochs', '2.5', 'whole>=1')).toThrow(/--epochs must be a whole number/);
    expect(() => numberOption('--members', '0', 'whole>=1')).toThrow(/at least 1/);
    expect(() => numberOption('--lr', '', 'positive')).toThrow('--lr must be a number above 0; got "".');
    expect(() => numberOption('--lr', '-1', 'positive')).toThrow(/above 0/);
  });
});
