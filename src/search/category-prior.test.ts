import { describe, expect, it } from 'vitest';
import { categoryPrior } from './category-prior.js';

describe('categoryPrior', () => {
  it('scales the query probabilities by the weight, by class name in code order', () => {
    expect(categoryPrior(['a', 'b', 'c'], [0.7, 0.2, 0.1], 2)).toEqual({ a: 1.4, b: 0.4, c: 0.2 });
  });

  it('gives no bonus at weight 0 and reads a missing probability as 0', () => {
    expect(categoryPrior(['a', 'b'], [0.9, 0.1], 0)).toEqual({});
    expect(categoryPrior(['a', 'b'], [1], 1)).toEqual({ a: 1, b: 0 });
  });
});
