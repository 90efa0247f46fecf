import { describe, expect, it } from 'vitest';
import type { Listing } from '../domain/listing.js';
import { batchesUnder } from '../queues/queue-room.js';
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

  it('cuts chunks at the listing limit or the job limit, whichever comes first, keeping order', () => {
    const w = work(7); // 4 jobs each
    const ids = (chunks: ListingWithPhotos[][]) => chunks.map((c) => c.map((x) => Number(x.listing.id.slice(-2))));
    const jobs = (x: ListingWithPhotos) => jobsOfFlows([x]);
    expect(ids(batchesUnder(w, 3, 1000, jobs))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(ids(batchesUnder(w, 1000, 8, jobs))).toEqual([[0, 1], [2, 3], [4, 5], [6]]);
    // A listing with more jobs than the limit still goes, alone.
    expect(ids(batchesUnder(w.slice(0, 2), 1000, 3, jobs))).toEqual([[0], [1]]);
    expect(batchesUnder([], 10, 10, jobs)).toEqual([]);
  });
});
