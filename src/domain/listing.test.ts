import { describe, expect, it } from 'vitest';
import { buildListing, createTimeMs, earliestCreateTime, isValidId, listingContentHash } from './listing.js';
import type { ListingSource } from './listing.js';

const source: ListingSource = {
  id: '243809c0-9cfc-4486-ad12-3b7a16605ba9',
  productName: 'Mirror wall art | in Wokingham, Berkshire | Gumtree',
  category: 'Home & Garden / Dining, Living Room Furniture / Mirrors, Clocks & Ornaments',
  description: 'Mirror wall art. 25 February 2022Size 45x45cm 👍',
  price: '£1,250.00',
  location: 'Wokingham, Berkshire',
};

describe('buildListing', () => {
  it('cleans the fields and keeps the raw ones', () => {
    const listing = buildListing(source, [
      { id: 'img-b', createTime: '2022-02-27' },
      { id: 'img-a', createTime: '2022-02-26' },
    ]);
    expect(listing).toMatchObject({
      id: source.id,
      nameRaw: source.productName,
      name: 'Mirror wall art',
      descriptionRaw: source.description,
      price: 1250,
      priceRaw: '£1,250.00',
      location: 'Wokingham, Berkshire',
      categoryPath: source.category,
      label: 'Home & Garden',
      modelText: 'mirror wall art mirror wall art 25 february 2022size 45x45cm',
      createTime: '2022-02-26',
      imageIds: ['img-b', 'img-a'],
    });
    expect(listing.contentHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('leaves label, price and time null when they are absent', () => {
    const listing = buildListing({ ...source, category: '  ', price: 'free' }, []);
    expect(listing.categoryPath).toBeNull();
    expect(listing.label).toBeNull();
    expect(listing.price).toBeNull();
    expect(listing.priceRaw).toBe('free');
    expect(listing.createTime).toBeNull();
    expect(listing.imageIds).toEqual([]);
  });
});

describe('listingContentHash', () => {
  const fields = {
    id: 'a1',
    nameRaw: 'n',
    categoryPath: null,
    descriptionRaw: 'd',
    priceRaw: '£1',
    location: 'l',
    imageIds: ['x', 'y'],
  };

  it('is stable for the same fields (a fixed value guards against accidental format changes)', () => {
    expect(listingContentHash(fields)).toBe(listingContentHash({ ...fields, imageIds: ['x', 'y'] }));
    expect(listingContentHash(fields)).toMatchInlineSnapshot(`"520f06c478ba1d0f669629d2e0763c3cd47b3d14f74fdfd3355c8780c3cdba8c"`);
  });

  it('is the same for canonically equal text however it is composed (NFC "é" or e + combining accent)', () => {
    const nfc = { ...fields, nameRaw: 'Caf\u00e9 table', descriptionRaw: 'Cr\u00e8me', location: 'Orl\u00e9ans', categoryPath: 'Home & Garden / D\u00e9cor' };
    const nfd = { ...nfc, nameRaw: nfc.nameRaw.normalize('NFD'), descriptionRaw: nfc.descriptionRaw.normalize('NFD'), location: nfc.location.normalize('NFD'), categoryPath: nfc.categoryPath.normalize('NFD') };
    expect(nfd.nameRaw).not.toBe(nfc.nameRaw);
    expect(listingContentHash(nfd)).toBe(listingContentHash(nfc));
    // Compatibility forms are different text and stay different ("ﬁ" is not "fi" in the raw fields).
    expect(listingContentHash({ ...fields, nameRaw: '\ufb01' })).not.toBe(listingContentHash({ ...fields, nameRaw: 'fi' }));
  });

  it('changes when any raw field or the image order changes', () => {
    const base = listingContentHash(fields);
    for (const changed of [
      { ...fields, nameRaw: 'n2' },
      { ...fields, categoryPath: 'c' },
      { ...fields, descriptionRaw: 'd ' },
      { ...fields, priceRaw: '£1.00' },
      { ...fields, location: 'L' },
      { ...fields, imageIds: ['y', 'x'] },
      { ...fields, imageIds: ['x'] },
      // Field boundaries are part of the canonical form: moving text between fields changes the hash.
      { ...fields, nameRaw: 'nd', descriptionRaw: '' },
    ]) {
      expect(listingContentHash(changed)).not.toBe(base);
    }
  });
});

describe('earliestCreateTime', () => {
  it('picks the earliest parseable time and ignores missing ones', () => {
    expect(earliestCreateTime([{ id: 'a', createTime: null }, { id: 'b', createTime: '2022-02-28T10:00:00Z' }, { id: 'c', createTime: '2022-02-28' }])).toBe('2022-02-28');
    expect(earliestCreateTime([{ id: 'a', createTime: null }])).toBeNull();
  });
});

describe('isValidId', () => {
  it('accepts UUIDs and simple slugs, refuses unsafe or integer-looking ids', () => {
    expect(isValidId('243809c0-9cfc-4486-ad12-3b7a16605ba9')).toBe(true);
    expect(isValidId('sample_0001')).toBe(true);
    for (const bad of ['', '123', '../etc/passwd', 'a/b', 'a:b', '-x', 'x'.repeat(129), 'a b']) {
      expect(isValidId(bad)).toBe(false);
    }
  });
});

describe('createTimeMs', () => {
  it('reads a time without a zone as UTC, whatever the process time zone', () => {
    const env = process.env;
    const before = env.TZ;
    env.TZ = 'America/New_York';
    try {
      expect(createTimeMs('2022-02-26T10:00:00')).toBe(Date.UTC(2022, 1, 26, 10));
      expect(createTimeMs('2022-02-26T10:00')).toBe(Date.UTC(2022, 1, 26, 10));
      expect(createTimeMs('2022-02-26')).toBe(Date.UTC(2022, 1, 26));
      expect(createTimeMs('2022-02-26T10:00:00+01:00')).toBe(Date.UTC(2022, 1, 26, 9));
      expect(createTimeMs('2022-02-26T10:00:00Z')).toBe(Date.UTC(2022, 1, 26, 10));
      // Which photo is earliest does not depend on the zone either.
      expect(earliestCreateTime([{ id: 'a', createTime: '2022-02-26T06:00:00+01:00' }, { id: 'b', createTime: '2022-02-26T04:30:00' }])).toBe('2022-02-26T04:30:00');
    } finally {
      if (before === undefined) delete env.TZ;
      else env.TZ = before;
    }
  });
});
