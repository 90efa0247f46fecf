// Rejections: every kind of bad input ends as an ImageRejectedError with a code and a sentence.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanImage } from './clean-image.js';
import { ImageRejectedError } from './errors.js';
import type { ImageRejectionCode } from './errors.js';
import { DECODE_FAIL_ON, probeImage, rejectOrRethrow } from './limits.js';

const OPTS = { size: 32, maxBytes: 1_000_000, maxPixels: 4_000_000 };

/** A noisy photo-like JPEG, so the entropy-coded data is long enough to truncate meaningfully. */
async function noisyJpeg(width = 96, height = 64): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7919) % 251;
  return sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A few-hundred-byte PNG whose header declares width x height RGB pixels (a decompression bomb). */
function bombPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const rows = deflateSync(Buffer.alloc(4096));
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', rows), chunk('IEND', Buffer.alloc(0))]);
}

const u8 = (n: number) => Buffer.from([n]);
const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const isoBox = (type: string, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(8 + body.length), Buffer.from(type, 'latin1'), body]);
};
const fullBox = (type: string, version: number, ...parts: Buffer[]) => isoBox(type, u8(version), Buffer.alloc(3), ...parts);

/**
 * A well-formed HEIC container (ISO/IEC 23008-12: one primary item of type hvc1 with an HEVC decoder
 * configuration and its size) as an iPhone writes it, holding a few bytes of coded data. Its header is
 * valid, so only the decoder decides; no HEVC encoder is needed to make it.
 */
function heicContainer(width: number, height: number): Buffer {
  const ftyp = isoBox('ftyp', Buffer.from('heic', 'latin1'), u32(0), Buffer.from('mif1heic', 'latin1'));
  // hvcC: version 1, Main profile, level 3, 4:2:0, 8-bit, 4-byte NAL lengths, no parameter-set arrays.
  const hvcC = isoBox('hvcC', u8(1), u8(1), u32(0x60000000), Buffer.alloc(6), u8(90), u16(0xf000), u8(0xfc), u8(0xfd),
    u8(0xf8), u8(0xf8), u16(0), u8(0x0f), u8(0));
  const iprp = isoBox('iprp', isoBox('ipco', hvcC, fullBox('ispe', 0, u32(width), u32(height))),
    fullBox('ipma', 0, u32(1), u16(1), u8(2), u8(0x81), u8(0x02)));
  const payload = Buffer.concat([u32(6), Buffer.from([0x26, 0x01, 0xaf, 0x00, 0x11, 0x22])]);
  const meta = (dataOffset: number) => fullBox('meta', 0,
    fullBox('hdlr', 0, u32(0), Buffer.from('pict', 'latin1'), Buffer.alloc(12), u8(0)),
    fullBox('pitm', 0, u16(1)),
    fullBox('iloc', 0, u8(0x44), u8(0), u16(1), u16(1), u16(0), u16(1), u32(dataOffset), u32(payload.length)),
    fullBox('iinf', 0, u16(1), fullBox('infe', 2, u16(1), u16(0), Buffer.from('hvc1', 'latin1'), u8(0))),
    iprp);
  const dataOffset = ftyp.length + meta(0).length + 8;
  return Buffer.concat([ftyp, meta(dataOffset), isoBox('mdat', payload)]);
}

async function rejection(bytes: Buffer, opts = OPTS): Promise<ImageRejectedError> {
  try {
    await cleanImage(bytes, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ImageRejectedError);
    const rejected = err as ImageRejectedError;
    expect(rejected.message).toMatch(/^[A-Z].*\.$/s);
    return rejected;
  }
  throw new Error('Expected the image to be rejected, but it was accepted.');
}

async function expectCode(bytes: Buffer, code: ImageRejectionCode, opts = OPTS): Promise<ImageRejectedError> {
  const err = await rejection(bytes, opts);
  expect(err.code).toBe(code);
  return err;
}

describe('image rejections', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'images-limits-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects a zero-byte file', async () => {
    await expectCode(Buffer.alloc(0), 'empty');
  });

  it('rejects a file over the byte limit before looking inside', async () => {
    const jpeg = await noisyJpeg();
    const err = await expectCode(jpeg, 'too_large', { ...OPTS, maxBytes: jpeg.length - 1 });
    expect(err.message).toContain('IMAGE_MAX_BYTES');
    await expect(cleanImage(jpeg, { ...OPTS, maxBytes: jpeg.length })).resolves.toBeDefined();
  });

  it('rejects a text file named .jpg', async () => {
    const file = path.join(dir, 'listing-photo.jpg');
    writeFileSync(file, 'This is not a photo, just a note saved with the wrong extension.\n');
    const err = await expectCode(readFileSync(file), 'not_an_image');
    expect(err.message).toContain('not a recognised image');
  });

  it('rejects a truncated JPEG', async () => {
    const jpeg = await noisyJpeg();
    // The header is intact (metadata reads fine); only decoding finds the missing data.
    await expect(probeImage(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), OPTS)).resolves.toBeDefined();
    const err = await expectCode(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), 'corrupt');
    expect(err.message).toMatch(/premature end/i);
    await expectCode(jpeg.subarray(0, 12), 'corrupt');
  });

  it(`accepts slightly odd but decodable JPEGs (failOn: '${DECODE_FAIL_ON}')`, async () => {
    const jpeg = await noisyJpeg();
    const eoi = jpeg.length - 2;
    const extraneous = Buffer.concat([jpeg.subarray(0, eoi), Buffer.from([1, 2, 3]), jpeg.subarray(eoi)]);
    const trailing = Buffer.concat([jpeg, Buffer.alloc(300, 0x41)]);
    for (const bytes of [extraneous, trailing]) {
      const cleaned = await cleanImage(bytes, OPTS);
      expect(cleaned.rgb.length).toBe(32 * 32 * 3);
    }
  });

  it('rejects a truncated PNG', async () => {
    const png = await sharp(await noisyJpeg()).png().toBuffer();
    await expectCode(png.subarray(0, Math.floor(png.length / 2)), 'corrupt');
  });

  it('rejects a PNG decompression bomb from its header, before decoding', async () => {
    const bomb = bombPng(50_000, 50_000);
    expect(bomb.length).toBeLessThan(200);
    const probedHeader = await sharp(bomb, { limitInputPixels: false }).metadata();
    expect(probedHeader.width * probedHeader.height).toBe(2_500_000_000);
    const err = await expectCode(bomb, 'too_many_pixels');
    expect(err.message).toContain('50000 x 50000');
    expect(err.message).toContain('before decoding');
  });

  it('rejects an SVG declaring huge dimensions, and refuses SVG altogether', async () => {
    const svgBomb = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"/>');
    await expectCode(svgBomb, 'too_many_pixels');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect width="20" height="20"/></svg>');
    const err = await expectCode(svg, 'unsupported');
    expect(err.message).toContain('svg');
  });

  it('refuses a HEIC photo as unsupported with what to upload instead, not as corrupt', async () => {
    const heic = heicContainer(1280, 960);
    // The header is sound (sharp reads it as HEVC-coded HEIF); only decoding it fails.
    expect(await sharp(heic).metadata()).toMatchObject({ format: 'heif', compression: 'hevc', width: 1280, height: 960 });
    const err = await expectCode(heic, 'unsupported');
    expect(err.message).toContain('HEIC');
    expect(err.message).toContain('JPEG');
    expect(err.message).not.toMatch(/corrupt|bad seek|re-upload/);
    // AV1-coded HEIF (AVIF), which this build does decode, still goes through.
    const avif = await sharp(await noisyJpeg()).avif().toBuffer();
    await expect(cleanImage(avif, OPTS)).resolves.toMatchObject({ format: 'heif', width: 96, height: 64 });
  });

  it('quotes the actual decoder error, not the reader-sniffing lines before it', () => {
    const sniffed = new Error('source: bad seek to 1024\nsource: bad seek to 512\nheif: Invalid input: No \'hvcC\' box (2.106)');
    expect(() => rejectOrRethrow(sniffed, 300)).toThrow(/cannot be decoded \(heif: Invalid input: No 'hvcC' box \(2\.106\)\)/);
  });

  it("keeps sharp's own pixel limit as a second guard", () => {
    expect(() => rejectOrRethrow(new Error('Input image exceeds pixel limit'), 10)).toThrow(ImageRejectedError);
  });

  it('leaves environmental failures retryable by rethrowing them unchanged', () => {
    const oom = new Error('vips_tracked_malloc: out of memory --- size == 1GB');
    expect(() => rejectOrRethrow(oom, 10)).toThrow(oom);
    const odd = new Error('something nobody has seen before');
    expect(() => rejectOrRethrow(odd, 10)).toThrow(odd);
  });
});
