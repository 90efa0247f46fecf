// The encoder input: shape, ImageNet normalisation and centre-crop geometry on known images.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { cleanImage } from './clean-image.js';
import { ImageRejectedError } from './errors.js';
import { IMAGENET_MEAN, IMAGENET_STD, thumbnailRgb, toModelTensor } from './model-tensor.js';

const norm = (value: number, c: number) => (value / 255 - (IMAGENET_MEAN[c] as number)) / (IMAGENET_STD[c] as number);

async function solidPng(width: number, height: number, colour: string): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } }).png().toBuffer();
}

/** Value range of channel c of image n in an N x 3 x s x s tensor. */
function channelRange(t: Float32Array, s: number, n: number, c: number): [number, number] {
  const start = (n * 3 + c) * s * s;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = start; i < start + s * s; i++) {
    lo = Math.min(lo, t[i] as number);
    hi = Math.max(hi, t[i] as number);
  }
  return [lo, hi];
}

describe('toModelTensor', () => {
  it('normalises pure red with the ImageNet mean and std in CHW layout', async () => {
    const t = await toModelTensor([await solidPng(64, 64, '#ff0000')]);
    expect(t).toBeInstanceOf(Float32Array);
    expect(t.length).toBe(3 * 128 * 128);
    const expected = [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0 - 0.406) / 0.225];
    for (let c = 0; c < 3; c++) {
      const [lo, hi] = channelRange(t, 128, 0, c);
      expect(lo).toBeCloseTo(expected[c] as number, 5);
      expect(hi).toBeCloseTo(expected[c] as number, 5);
    }
  });

  it('stacks a batch in order: N x 3 x size x size', async () => {
    const t = await toModelTensor([await solidPng(20, 20, '#ff0000'), await solidPng(20, 20, '#0000ff')], 16);
    expect(t.length).toBe(2 * 3 * 16 * 16);
    expect(channelRange(t, 16, 0, 0)[0]).toBeCloseTo(norm(255, 0), 5);
    expect(channelRange(t, 16, 1, 0)[1]).toBeCloseTo(norm(0, 0), 5);
    expect(channelRange(t, 16, 1, 2)[0]).toBeCloseTo(norm(255, 2), 5);
  });

  it('resizes the shorter side and keeps only the centre of a wide image', async () => {
    // 400 x 100: red | green (200 px) | blue. At 32 the image becomes 128 x 32 and the crop keeps
    // columns 48-79, all inside the green band (32-95).
    const px = Buffer.alloc(400 * 100 * 3);
    for (let y = 0; y < 100; y++) {
      for (let x = 0; x < 400; x++) px.set(x < 100 ? [255, 0, 0] : x < 300 ? [0, 255, 0] : [0, 0, 255], (y * 400 + x) * 3);
    }
    const wide = await sharp(px, { raw: { width: 400, height: 100, channels: 3 } }).png().toBuffer();
    const t = await toModelTensor([wide], 32);
    expect(channelRange(t, 32, 0, 0)).toEqual([norm(0, 0), norm(0, 0)].map(Math.fround));
    expect(channelRange(t, 32, 0, 1)[0]).toBeCloseTo(norm(255, 1), 5);
    expect(channelRange(t, 32, 0, 2)[1]).toBeCloseTo(norm(0, 2), 5);
  });

  it('accepts raw RGB (a CleanedImage) and its JPEG alike', async () => {
    const cleaned = await cleanImage(await solidPng(50, 30, '#808080'), { size: 40, maxBytes: 1e6, maxPixels: 1e6 });
    const [fromRaw, fromJpeg] = await Promise.all([
      toModelTensor([{ data: cleaned.rgb, width: 40, height: 40 }], 16),
      toModelTensor([cleaned.letterboxed], 16),
    ]);
    let maxDiff = 0;
    fromRaw.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - (fromJpeg[i] as number)))));
    // JPEG compression moves a value by a few grey levels at most (1 level ~ 0.017 after normalising).
    expect(maxDiff).toBeLessThan(0.15);
  });

  it('rejects the whole batch when one image is bad', async () => {
    await expect(toModelTensor([await solidPng(8, 8, '#000'), Buffer.from('not an image')], 8)).rejects.toBeInstanceOf(ImageRejectedError);
  });
});

describe('thumbnailRgb', () => {
  it('letterboxes to size x size raw RGB', async () => {
    const thumb = await thumbnailRgb(await solidPng(32, 16, '#ffffff'), 16);
    expect(thumb).toBeInstanceOf(Uint8Array);
    expect(thumb.length).toBe(16 * 16 * 3);
    const at = (x: number, y: number) => [...thumb.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3)];
    expect(at(8, 0)).toEqual([0, 0, 0]);
    expect(at(8, 8)).toEqual([255, 255, 255]);
    expect(at(8, 15)).toEqual([0, 0, 0]);
  });
});
