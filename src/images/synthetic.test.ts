// Generated catalogue photos must be reproducible and carry their palette (so they are learnable).
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { renderSyntheticPhoto } from './synthetic.js';
import type { SyntheticPhotoSpec, SyntheticShape } from './synthetic.js';

const spec = (over: Partial<SyntheticPhotoSpec> = {}): SyntheticPhotoSpec => ({
  seed: 42,
  palette: [[200, 30, 30], [30, 30, 200], [230, 230, 200]],
  shape: 'circle',
  width: 120,
  height: 90,
  ...over,
});

async function meanColour(jpeg: Buffer): Promise<number[]> {
  const { channels } = await sharp(jpeg).stats();
  return channels.slice(0, 3).map((c) => c.mean);
}

describe('renderSyntheticPhoto', () => {
  it('is deterministic: the same spec gives the same bytes', async () => {
    for (const shape of ['circle', 'square', 'stripes', 'triangle'] as SyntheticShape[]) {
      const [a, b] = await Promise.all([renderSyntheticPhoto(spec({ shape })), renderSyntheticPhoto(spec({ shape }))]);
      expect(a.equals(b)).toBe(true);
    }
  });

  it('varies with the seed and the shape', async () => {
    const base = await renderSyntheticPhoto(spec());
    expect(base.equals(await renderSyntheticPhoto(spec({ seed: 43 })))).toBe(false);
    expect(base.equals(await renderSyntheticPhoto(spec({ shape: 'square' })))).toBe(false);
  });

  it('returns a JPEG of the requested size', async () => {
    const meta = await sharp(await renderSyntheticPhoto(spec({ width: 200, height: 64 }))).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['jpeg', 200, 64, 3]);
  });

  it('carries its palette, so photos of different palettes are separable', async () => {
    const red = await meanColour(await renderSyntheticPhoto(spec({ shape: 'stripes', palette: [[220, 20, 20], [180, 40, 40], [90, 10, 10]] })));
    const blue = await meanColour(await renderSyntheticPhoto(spec({ shape: 'stripes', palette: [[20, 20, 220], [40, 40, 180], [10, 10, 90]] })));
    expect(red[0]! - red[2]!).toBeGreaterThan(50);
    expect(blue[2]! - blue[0]!).toBeGreaterThan(50);
  });

  it('refuses an invalid spec with a sentence saying what to pass', async () => {
    await expect(renderSyntheticPhoto(spec({ width: 0 }))).rejects.toThrow(/width must be an integer/);
    await expect(renderSyntheticPhoto(spec({ palette: [] }))).rejects.toThrow(/palette is empty/);
    await expect(renderSyntheticPhoto(spec({ palette: [[300, 0, 0]] }))).rejects.toThrow(/0-255/);
  });
});
