import { describe, expect, it } from 'vitest';
import { parsePrice } from './price.js';

describe('parsePrice', () => {
  it.each([
    ['£1,250.00', 1250],
    ['£0.00', 0],
    ['£5', 5],
    ['£5.00', 5],
    ['£20.50', 20.5],
    ['  £1,000,000.99 ', 1000000.99],
    ['1250', 1250],
    ['£5 ono', 5],
    ['£.50', 0.5],
    ['£1,250,000', 1250000],
  ])('reads %j as %d', (raw, expected) => {
    expect(parsePrice(raw)).toBe(expected);
  });

  it.each([['free'], [''], ['   '], ['£'], ['POA'], ['1.250.00'], ['£5 - £10'], ['£5 for 2'], ['-£5'], ['- 5'], ['£1,25']])(
    'treats %j as missing (null), never zero',
    (raw) => {
      expect(parsePrice(raw)).toBeNull();
    },
  );
});
