import { describe, expect, it } from 'vitest';
import { Deduper, dedupeListings } from './dedupe.js';
import type { DedupeFields } from './dedupe.js';

const base: DedupeFields = {
  id: 'a',
  nameRaw: 'Oak table | in Leeds, West Yorkshire | Gumtree',
  location: 'Leeds, West Yorkshire',
  descriptionRaw: 'Solid oak.',
  createTime: '2022-02-26',
  price: 50,
  priceRaw: '£50.00',
};

describe('dedupeListings', () => {
  it('keeps the first of listings sharing name, location, description, time and price', () => {
    const { kept, duplicates } = dedupeListings([
      base,
      { ...base, id: 'b' },
      { ...base, id: 'c', priceRaw: '£50', price: 50 },
      { ...base, id: 'd', createTime: '2022-02-27' },
    ]);
    expect(kept.map((l) => l.id)).toEqual(['a', 'd']);
    expect(duplicates.map((d) => [d.listing.id, d.duplicateOf])).toEqual([
      ['b', 'a'],
      ['c', 'a'],
    ]);
  });

  it('treats canonically equal text (NFC and NFD) as the same text', () => {
    const nfc = { ...base, nameRaw: 'Caf\u00e9 table', descriptionRaw: 'Cr\u00e8me', location: 'Orl\u00e9ans' };
    const nfd = { ...nfc, id: 'b', nameRaw: nfc.nameRaw.normalize('NFD'), descriptionRaw: nfc.descriptionRaw.normalize('NFD'), location: nfc.location.normalize('NFD') };
    expect(dedupeListings([nfc, nfd]).duplicates.map((d) => [d.listing.id, d.duplicateOf])).toEqual([['b', 'a']]);
  });

  it('treats a difference in any key field as a different listing', () => {
    const variants: DedupeFields[] = [
      { ...base, id: 'n', nameRaw: 'Oak table!' },
      { ...base, id: 'l', location: 'York' },
      { ...base, id: 'd', descriptionRaw: 'Solid oak' },
      { ...base, id: 't', createTime: null },
      { ...base, id: 'p', price: 51, priceRaw: '£51.00' },
      { ...base, id: 'u', price: null, priceRaw: 'free' },
    ];
    expect(dedupeListings([base, ...variants]).kept).toHaveLength(variants.length + 1);
  });

  it('compares unparseable prices by their raw text', () => {
    const free = { ...base, price: null, priceRaw: 'free' };
    const { kept } = dedupeListings([free, { ...free, id: 'b' }, { ...free, id: 'c', priceRaw: 'POA' }]);
    expect(kept.map((l) => l.id)).toEqual(['a', 'c']);
  });

  it('streams through Deduper with the same answers', () => {
    const deduper = new Deduper();
    expect(deduper.check(base)).toBeNull();
    expect(deduper.check({ ...base, id: 'z' })).toBe('a');
  });
});
