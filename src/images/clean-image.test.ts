// Every input mode ends as 3-channel 8-bit sRGB letterboxed on black, exactly size x size.
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { cleanImage } from './clean-image.js';
import type { CleanedImage } from './clean-image.js';

const LIMITS = { maxBytes: 10_000_000, maxPixels: 10_000_000 };

function pixel(img: CleanedImage, size: number, x: number, y: number): number[] {
  const i = (y * size + x) * 3;
  return [...img.rgb.subarray(i, i + 3)];
}

async function solid(width: number, height: number, colour: string): Promise<Sharp> {
  return sharp({ create: { width, height, channels: 3, background: colour } });
}

function expectClose(actual: number[], expected: number[], tolerance: number): void {
  actual.forEach((v, i) => expect(Math.abs(v - (expected[i] as number))).toBeLessThanOrEqual(tolerance));
}

async function expectSquareJpeg(img: CleanedImage, size: number): Promise<void> {
  const meta = await sharp(img.letterboxed).metadata();
  expect([meta.format, meta.width, meta.height, meta.channels, meta.space]).toEqual(['jpeg', size, size, 3, 'srgb']);
  expect(img.rgb.length).toBe(size * size * 3);
}

describe('cleanImage', () => {
  it('keeps an RGB JPEG as RGB and reports the original', async () => {
    const jpeg = await (await solid(64, 48, '#3366cc')).jpeg().toBuffer();
    const img = await cleanImage(jpeg, { ...LIMITS, size: 32 });
    await expectSquareJpeg(img, 32);
    expect(img).toMatchObject({ width: 64, height: 48, format: 'jpeg', channels: 3, hasAlpha: false, bytes: jpeg.length });
    expectClose(pixel(img, 32, 16, 16), [0x33, 0x66, 0xcc], 4);
  });

  it('expands a one-channel grayscale PNG to three equal channels', async () => {
    const grey = await sharp(Buffer.alloc(20 * 20, 100), { raw: { width: 20, height: 20, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const img = await cleanImage(grey, { ...LIMITS, size: 10 });
    await expectSquareJpeg(img, 10);
    expect(img.channels).toBe(1);
    expect(pixel(img, 10, 5, 5)).toEqual([100, 100, 100]);
  });

  it('expands a palette PNG', async () => {
    const pal = await (await solid(30, 30, '#0000ff')).png({ palette: true }).toBuffer();
    expect((await sharp(pal).metadata()).isPalette).toBe(true);
    const img = await cleanImage(pal, { ...LIMITS, size: 10 });
    expect(pixel(img, 10, 5, 5)).toEqual([0, 0, 255]);
  });

  it('composites RGBA on black: a fully transparent white pixel becomes black', async () => {
    const rgba = Buffer.alloc(40 * 20 * 4);
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 40; x++) rgba.set(x < 20 ? [255, 255, 255, 0] : [0, 255, 0, 255], (y * 40 + x) * 4);
    }
    const png = await sharp(rgba, { raw: { width: 40, height: 20, channels: 4 } }).png().toBuffer();
    const img = await cleanImage(png, { ...LIMITS, size: 40 });
    expect(img).toMatchObject({ channels: 4, hasAlpha: true });
    expect(pixel(img, 40, 5, 20)).toEqual([0, 0, 0]);
    expect(pixel(img, 40, 35, 20)).toEqual([0, 255, 0]);
  });

  it('composites half-transparent grey+alpha (LA) on black', async () => {
    const la = Buffer.alloc(16 * 16 * 2);
    for (let i = 0; i < 16 * 16; i++) la.set([200, 128], i * 2);
    const png = await sharp(la, { raw: { width: 16, height: 16, channels: 2 } }).toColourspace('b-w').png().toBuffer();
    const img = await cleanImage(png, { ...LIMITS, size: 16 });
    expect(img).toMatchObject({ channels: 2, hasAlpha: true });
    expectClose(pixel(img, 16, 8, 8), [100, 100, 100], 2);
  });

  it('converts a CMYK JPEG to sRGB through colour management', async () => {
    const cmyk = await (await solid(30, 30, '#ff0000')).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const img = await cleanImage(cmyk, { ...LIMITS, size: 10 });
    await expectSquareJpeg(img, 10);
    expect(img.channels).toBe(4);
    const [r, g, b] = pixel(img, 10, 5, 5) as [number, number, number];
    // Red survives the sRGB -> CMYK -> sRGB round trip (slightly desaturated by the CMYK gamut).
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(40);
    expect(b).toBeLessThan(40);
  });

  it('reduces a 16-bit PNG to 8 bits per channel', async () => {
    const png16 = await (await solid(30, 30, '#ff8000')).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const img = await cleanImage(png16, { ...LIMITS, size: 10 });
    expect(img.rgb.length).toBe(300);
    expectClose(pixel(img, 10, 5, 5), [255, 128, 0], 1);
  });

  it('letterboxes a wide photo: black bars above and below, content centred', async () => {
    const wide = await (await solid(120, 40, '#ffffff')).png().toBuffer();
    const img = await cleanImage(wide, { ...LIMITS, size: 30 });
    await expectSquareJpeg(img, 30);
    const rowIsWhite = (y: number) => pixel(img, 30, 15, y).every((v) => v > 250);
    const white = Array.from({ length: 30 }, (_, y) => rowIsWhite(y));
    expect(white.filter(Boolean).length).toBe(10);
    expect(white.indexOf(true)).toBe(10);
    for (const y of [0, 9, 20, 29]) expect(pixel(img, 30, 15, y)).toEqual([0, 0, 0]);
  });

  it('letterboxes a tall photo: black bars left and right, content centred', async () => {
    const tall = await (await solid(40, 120, '#ffffff')).jpeg().toBuffer();
    const img = await cleanImage(tall, { ...LIMITS, size: 30 });
    await expectSquareJpeg(img, 30);
    const white = Array.from({ length: 30 }, (_, x) => pixel(img, 30, x, 15).every((v) => v > 245));
    expect(white.filter(Boolean).length).toBe(10);
    expect(white.indexOf(true)).toBe(10);
    for (const x of [0, 9, 20, 29]) expect(pixel(img, 30, x, 15)).toEqual([0, 0, 0]);
  });

  it('upscales a small photo so its longer side fills the canvas', async () => {
    const small = await (await solid(10, 5, '#ffffff')).png().toBuffer();
    const img = await cleanImage(small, { ...LIMITS, size: 40 });
    expect(pixel(img, 40, 0, 20).every((v) => v > 250)).toBe(true);
    expect(pixel(img, 40, 39, 20).every((v) => v > 250)).toBe(true);
    expect(pixel(img, 40, 20, 0)).toEqual([0, 0, 0]);
  });

  it('honours EXIF orientation: a landscape file tagged "rotate 90" is cleaned as portrait', async () => {
    const tagged = await (await solid(40, 20, '#ff0000')).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const img = await cleanImage(tagged, { ...LIMITS, size: 40 });
    expect([img.width, img.height]).toEqual([20, 40]);
    expect(pixel(img, 40, 2, 20)).toEqual([0, 0, 0]);
    expect(pixel(img, 40, 20, 2)[0]).toBeGreaterThan(240);
  });

  it('accepts WebP, GIF and TIFF input', async () => {
    const base = await solid(24, 24, '#00ff00');
    for (const bytes of [await base.clone().webp().toBuffer(), await base.clone().gif().toBuffer(), await base.clone().tiff().toBuffer()]) {
      const img = await cleanImage(bytes, { ...LIMITS, size: 12 });
      expectClose(pixel(img, 12, 6, 6), [0, 255, 0], 8);
    }
  });
});
