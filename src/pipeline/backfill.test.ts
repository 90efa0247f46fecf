import { describe, expect, it } from 'vitest';
import type { Listing } from '../domain/listing.js';
import { photosOf } from './backfill.js';
import type { ListingWithPhotos } from './submit-listings.js';

const work = (n: number): ListingWithPhotos[] =>
  Array.from({ length: n }, (_, i) => ({
    listing: { id: `listing-${String(i).padStart(8, '0')}` } as Listing,
    photos: [{ imageId: `p${i}a`, source: 'a.jpg' }, { imageId: `p${i}b`, source: 'b.jpg' }],
  }));

describe('backfill photo count', () => {
  it('counts the photos of the enqueued listings only', () => {
    const w = work(4);
    expect(photosOf(w, [w[1]!.listing.id, w[3]!.listing.id, 'unknown'])).toBe(4);
    expect(photosOf(w, [])).toBe(0);
  });
});
