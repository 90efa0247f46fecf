// Input guards shared by every sharp entry point: byte size, declared pixel count and format are checked
// from the header alone, before any pixel is decoded, and decode errors are sorted into permanent
// rejections (the bytes are bad) versus anything else (left to the caller's retry policy).
import sharp from 'sharp';
import type { Metadata, Sharp } from 'sharp';
import type { Config } from '../config.js';
import { loadConfig } from '../config.js';
import { ImageRejectedError } from './errors.js';

export interface ImageLimits {
  /** Largest accepted encoded size in bytes. */
  maxBytes: number;
  /** Largest accepted width x height, as declared by the header (decompression-bomb guard). */
  maxPixels: number;
}

export function imageLimits(config: Pick<Config, 'IMAGE_MAX_BYTES' | 'IMAGE_MAX_PIXELS'>): ImageLimits {
  return { maxBytes: config.IMAGE_MAX_BYTES, maxPixels: config.IMAGE_MAX_PIXELS };
}

/** The configuration's defaults, for callers that pass no limits (parsed from an empty environment). */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = imageLimits(loadConfig({}));

/**
 * libvips' strictness. 'truncated' is the most lenient level that still rejects truncated files
 * ("premature end of JPEG image"); 'error' behaved identically on every case tried, while 'warning'
 * (sharp's default) also rejects decodable photos with harmless oddities such as extraneous bytes
 * before a marker or one damaged Huffman block, which browsers display without complaint.
 */
export const DECODE_FAIL_ON = 'truncated' as const;

/** Formats a marketplace photo may arrive in. SVG/PDF and other vector or document inputs are refused. */
export const ACCEPTED_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

/** What the header says, read without decoding pixels. */
export interface ProbedImage {
  /** Width and height as displayed, i.e. after EXIF orientation. */
  width: number;
  height: number;
  /** Encoded format as sharp names it (jpeg, png, webp, gif, tiff, heif). */
  format: string;
  /** Number of channels as stored (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA or CMYK). */
  channels: number;
  hasAlpha: boolean;
  /** Colour space as stored, e.g. srgb, b-w, cmyk, rgb16, grey16. */
  space: string;
  /** EXIF orientation tag (1-8) when present. */
  orientation: number | undefined;
}

/** Letterbox bars and the backdrop that alpha is composited on. */
export const BLACK = { r: 0, g: 0, b: 0, alpha: 1 } as const;

// libvips tries readers at several offsets while sniffing a format and reports each miss ("source: bad
// seek to 1024") before the actual error; those lines say nothing about the file.
const SNIFF_NOISE = /^source: bad seek/i;

function firstLine(message: string): string {
  const line = message.split('\n').map((s) => s.trim()).find((s) => s !== '' && !SNIFF_NOISE.test(s)) ?? 'no detail';
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

// Environment trouble (memory, file handles) is not the image's fault: leave it retryable.
const TRANSIENT = /out of memory|cannot allocate|ENOMEM|EMFILE|ENFILE/i;
const CORRUPT =
  /corrupt|premature end|unexpected end|read error|truncat|invalid|bad seek|unable to parse|no image|huffman|vipsjpeg|vipspng|pngload|jpegload|gifload|webp|tiff|heif|spng/i;

/** Turns a sharp/libvips failure on these bytes into an ImageRejectedError, or rethrows it unchanged. */
export function rejectOrRethrow(err: unknown, bytes: number): never {
  if (err instanceof ImageRejectedError) throw err;
  const message = err instanceof Error ? err.message : String(err);
  if (TRANSIENT.test(message)) throw err;
  if (/exceeds pixel limit/i.test(message)) {
    throw new ImageRejectedError(
      'too_many_pixels',
      'The image declares more pixels than the configured limit (IMAGE_MAX_PIXELS), so it was not decoded; upload a smaller photo.',
      { cause: err },
    );
  }
  if (/unsupported image format/i.test(message)) {
    throw new ImageRejectedError(
      'not_an_image',
      `The ${bytes}-byte file is not a recognised image (its first bytes match no image format); upload a JPEG, PNG, WebP, GIF, TIFF or AVIF photo.`,
      { cause: err },
    );
  }
  // A well-formed file in a compression this libvips build has no decoder for. sharp's prebuilt binaries
  // decode AV1-coded HEIF (AVIF) but not HEVC-coded HEIF (HEIC, the iPhone camera's default), which is
  // patent-encumbered; re-uploading the same file would fail the same way, so say what to send instead.
  const missing = /has not been built in: ([A-Za-z0-9.+-]+)/i.exec(message);
  if (missing) {
    const codec = missing[1] ?? 'this';
    const what = codec.toUpperCase() === 'HEVC' ? 'a HEIC photo (HEVC-compressed, the iPhone camera default)' : `compressed with ${codec}`;
    throw new ImageRejectedError(
      'unsupported',
      `The image is ${what}, which this service cannot decode; upload it as JPEG or PNG (an iPhone sends JPEG with Settings > Camera > Formats > Most Compatible).`,
      { cause: err },
    );
  }
  if (CORRUPT.test(message)) {
    throw new ImageRejectedError(
      'corrupt',
      `The image is truncated or corrupt and cannot be decoded (${firstLine(message)}); re-upload the original photo.`,
      { cause: err },
    );
  }
  throw err;
}

/** Checks size, header, format and declared dimensions without decoding any pixels. */
export async function probeImage(bytes: Buffer, limits: ImageLimits): Promise<ProbedImage> {
  if (bytes.length === 0) {
    throw new ImageRejectedError('empty', 'The image file is empty (0 bytes); upload the photo again.');
  }
  if (bytes.length > limits.maxBytes) {
    throw new ImageRejectedError(
      'too_large',
      `The image is ${bytes.length} bytes, over the ${limits.maxBytes}-byte limit (IMAGE_MAX_BYTES); upload a smaller or more compressed photo.`,
    );
  }
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes, { failOn: DECODE_FAIL_ON, limitInputPixels: false }).metadata();
  } catch (err) {
    rejectOrRethrow(err, bytes.length);
  }
  const { width, height, format } = metadata;
  if (!width || !height) {
    throw new ImageRejectedError(
      'corrupt',
      `The ${format ?? 'unknown'} image header declares no dimensions, so it cannot be decoded; re-upload the original photo.`,
    );
  }
  if (width * height > limits.maxPixels) {
    throw new ImageRejectedError(
      'too_many_pixels',
      `The image declares ${width} x ${height} pixels (${width * height}), over the ${limits.maxPixels}-pixel limit (IMAGE_MAX_PIXELS); it was refused before decoding, so upload a smaller photo.`,
    );
  }
  if (!ACCEPTED_FORMATS.has(format)) {
    throw new ImageRejectedError(
      'unsupported',
      `Images in ${format} format are not accepted; upload a JPEG, PNG, WebP, GIF, TIFF or AVIF photo.`,
    );
  }
  return {
    width: metadata.autoOrient.width,
    height: metadata.autoOrient.height,
    format,
    channels: metadata.channels,
    hasAlpha: metadata.hasAlpha,
    space: metadata.space,
    orientation: metadata.orientation,
  };
}

/**
 * A sharp pipeline on already-probed bytes: EXIF orientation applied, alpha composited on black,
 * converted to 8-bit sRGB (embedded ICC profiles honoured; CMYK without one uses libvips' built-in
 * profile), with libvips' own pixel limit as a second guard.
 */
export function openRgb(bytes: Buffer, limits: ImageLimits): Sharp {
  return sharp(bytes, { failOn: DECODE_FAIL_ON, limitInputPixels: limits.maxPixels, autoOrient: true })
    .flatten({ background: BLACK })
    .toColourspace('srgb');
}
