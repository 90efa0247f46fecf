import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BackfillProgress } from '../pipeline/backfill.js';
import { backfillProgressBar } from './progress.js';

const progress = (totalListings: number, processed: number): BackfillProgress => ({
  runId: 1,
  totalListings,
  totalImages: totalListings * 2,
  elapsedSeconds: 1,
  listings: { pending: totalListings - processed, processed, failed: 0, skipped: 0 },
  images: { pending: 0, cleaned: processed * 2, failed: 0, skipped: 0 },
});

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

describe('backfillProgressBar', () => {
  it('shows the listings done out of the run total', () => {
    const out = capture();
    const bar = backfillProgressBar(true, out.stream);
    bar.update(progress(5, 2));
    bar.stop();
    expect(out.text()).toContain('listings 2/5');
  });

  it('draws nothing for a run with no new work (it used to show "listings 0/1")', () => {
    const out = capture();
    const bar = backfillProgressBar(true, out.stream);
    bar.update(progress(0, 0));
    bar.update(progress(0, 0));
    bar.stop();
    expect(out.text()).toBe('');
  });
});
