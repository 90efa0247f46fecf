import { describe, expect, it } from 'vitest';
import { cleanModelText, stripGumtreeSuffix } from './text.js';

describe('cleanModelText', () => {
  it('turns punctuation into spaces, lower-cases and collapses whitespace', () => {
    expect(cleanModelText('Sofa,  GREY\tcorner!!\r\nBrand-new (boxed)')).toBe('sofa grey corner brand new boxed');
  });

  it('drops one-character words, counting code points', () => {
    expect(cleanModelText('I have 2 of these - a 3 tier x rack')).toBe('have of these tier rack');
    expect(cleanModelText('é ab')).toBe('ab');
  });

  it('treats emoji and typographic punctuation as non-word characters', () => {
    expect(cleanModelText('💥DIVAN BED💥|KING|📞 don’t “mint” – ✅✅')).toBe('divan bed king don mint');
  });

  it('keeps letters of any script, digits and underscores, and normalises to NFKC', () => {
    expect(cleanModelText('Café CAFE\u0301 ﬁne ＡＢ naïve 45x45cm snake_case')).toBe('café café fine ab naïve 45x45cm snake_case');
  });

  it('returns an empty string when nothing word-like is left', () => {
    expect(cleanModelText('🌈 ! a - ')).toBe('');
    expect(cleanModelText('')).toBe('');
  });
});

describe('stripGumtreeSuffix', () => {
  it('removes the scraped " | in <location> | Gumtree" tail', () => {
    expect(stripGumtreeSuffix('Mirror wall art | in Wokingham, Berkshire | Gumtree')).toBe('Mirror wall art');
  });

  it('keeps pipes that belong to the name itself', () => {
    expect(stripGumtreeSuffix('🌈PLUSH🌈 |GREY| SOFA 3+2 | in Greenwich, London | Gumtree')).toBe('🌈PLUSH🌈 |GREY| SOFA 3+2');
  });

  it('leaves names without the tail as they are (trimmed)', () => {
    expect(stripGumtreeSuffix('  Oak table ')).toBe('Oak table');
    expect(stripGumtreeSuffix('Gumtree | in town')).toBe('Gumtree | in town');
  });

  it('keeps the raw name when stripping would leave nothing', () => {
    expect(stripGumtreeSuffix(' | in Leeds | Gumtree')).toBe('| in Leeds | Gumtree');
  });
});
