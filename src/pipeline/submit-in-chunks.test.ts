import { describe, expect, it } from 'vitest';
import type { Listing } from '../domain/listing.js';
import { jobsOfFlows, photosOf } from './submit-in-chunks.js';
import type { ListingWithPhotos } from './submit-listings.js';

const work = (n: number): ListingWithPhotos[] =>
  Array.from({ length: n }, (_, i) => ({
    listing: { id: `listing-${String(i).padStart(8, '0')}` } as Listing,
    photos: [{ imageId: `p${i}a`, source: 'a.jpg' }, { imageId: `p${i}b`, source: 'b.jpg' }],
  }));

describe('chunked submit counts', () => {
  it('counts the photos of the enqueued listings only', () => {
    const w = work(4);
    expect(photosOf(w, [w[1]!.listing.id, w[3]!.listing.id, 'unknown'])).toBe(4);
    expect(photosOf(w, [])).toBe(0);
  });

  it('counts a flow as its photos plus the text-embed child and the infer parent', () => {
    expect(jobsOfFlows(work(3))).toBe(12);
    expect(jobsOfFlows([{ ...work(1)[0]!, photos: [] }])).toBe(2);
  });
});
