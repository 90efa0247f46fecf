import { describe, expect, it } from 'vitest';
import { wrongInput } from './load.js';

describe('classifier input check', () => {
  const ok = { text: new Float32Array(39), image: new Float32Array(3149) };

  it('accepts vectors of the declared widths, and a missing modality', () => {
    expect(wrongInput(ok, 39, 3149)).toBeNull();
    expect(wrongInput({ text: ok.text, image: null }, 39, 3149)).toBeNull();
  });

  it('names the modality and both widths when an embedding comes from another encoder', () => {
    expect(wrongInput({ text: new Float32Array(768), image: null }, 39, 3149)).toMatch(/text embedding has 768 values where the classifier expects 39/);
    expect(wrongInput({ text: null, image: new Float32Array(2048) }, 39, 3149)).toMatch(/image embedding has 2048 values .* expects 3149/);
  });

  it('refuses NaN rather than storing NaN probabilities', () => {
    const text = new Float32Array(39);
    text[5] = Number.NaN;
    expect(wrongInput({ text, image: null }, 39, 3149)).toMatch(/NaN/);
  });
});
