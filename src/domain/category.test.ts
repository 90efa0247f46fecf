import { describe, expect, it } from 'vitest';
import {
  CATEGORY_NAMES,
  DEFAULT_CATEGORY_TABLE,
  UnknownCategoryError,
  buildCategoryTable,
  categoryCode,
  categoryName,
  isCategoryName,
  topLevelLabel,
} from './category.js';

describe('topLevelLabel', () => {
  it('takes the text before the first " / ", trimmed', () => {
    expect(topLevelLabel('Home & Garden / Dining, Living Room Furniture / Mirrors, Clocks & Ornaments')).toBe('Home & Garden');
    expect(topLevelLabel('  Appliances  ')).toBe('Appliances');
    expect(topLevelLabel('Other Goods /Misc')).toBe('Other Goods /Misc');
  });
});

describe('category table', () => {
  it('has the 13 catalogue names in code-point order', () => {
    expect(CATEGORY_NAMES).toHaveLength(13);
    expect([...CATEGORY_NAMES]).toEqual([...CATEGORY_NAMES].sort());
    expect(DEFAULT_CATEGORY_TABLE[0]).toEqual({ code: 0, name: 'Appliances' });
    expect(DEFAULT_CATEGORY_TABLE[12]).toEqual({ code: 12, name: 'Video Games & Consoles' });
  });

  it('maps names to codes and back', () => {
    CATEGORY_NAMES.forEach((name, code) => {
      expect(categoryCode(name)).toBe(code);
      expect(categoryName(code)).toBe(name);
    });
    expect(isCategoryName('Home & Garden')).toBe(true);
    expect(isCategoryName('home & garden')).toBe(false);
  });

  it('throws clear errors for unknown names and codes', () => {
    expect(() => categoryCode('Cars')).toThrow(UnknownCategoryError);
    expect(() => categoryCode('Cars')).toThrow(/"Cars" is not one of the 13 known categories/);
    expect(() => categoryName(13)).toThrow(/code 13 is not in the class table \(codes 0-12\)/);
    expect(() => categoryName(1.5)).toThrow(RangeError);
  });

  it('builds a sorted, de-duplicated table from any names', () => {
    const table = buildCategoryTable(['b', 'a', 'B', 'a ']);
    expect(table).toEqual([
      { code: 0, name: 'B' },
      { code: 1, name: 'a' },
      { code: 2, name: 'b' },
    ]);
    expect(categoryCode('b', table)).toBe(2);
    expect(categoryName(0, table)).toBe('B');
    expect(() => buildCategoryTable([])).toThrow(/no categories/);
    expect(() => buildCategoryTable(['x', ' '])).toThrow(/empty/);
  });
});
