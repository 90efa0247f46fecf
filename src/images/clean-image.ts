// Image cleaning as in the research project: any input mode -> 3-channel 8-bit sRGB, EXIF orientation
// applied, longer side resized to N (upscaling allowed), centred on a black N x N canvas.
import sharp from 'sharp';
import type { OutputInfo } from 'sharp';
import { BLACK, openRgb, probeImage, rejectOrRethrow } from './limits.js';
import type { ImageLimits } from './limits.js';

export interface CleanImageOptions extends ImageLimits {
  /** Side of the square output canvas (IMAGE_LETTERBOX_SIZE). */
  size: number;
}

export interface CleanedImage {
  /** The letterboxed image as JPEG (quality 90), size x size. */
  letterboxed: Buffer;
  /** Raw RGB uint8 pixels of the letterboxed image (before JPEG compression), size * size * 3 bytes. */
  rgb: Buffer;
  /** Original width and height as displayed, i.e. after EXIF orientation. */
  width: number;
  height: number;
  /** Original encoded format as sharp names it (jpeg, png, webp, gif, tiff, heif). */
  format: string;
  /** Original number of channels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA or CMYK). */
  channels: number;
  hasAlpha: boolean;
  /** Input length in bytes. */
  bytes: number;
}

export const LETTERBOX_JPEG_QUALITY = 90;

export interface RawRgb {
  data: Buffer;
  width: number;
  height: number;
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > 8192) {
    throw new RangeError(`The output size must be an integer from 1 to 8192; got ${size}. Fix the caller's size setting.`);
  }
}

/** Decodes already-probed bytes into a size x size letterboxed raw RGB image. */
export async function letterboxRaw(bytes: Buffer, size: number, limits: ImageLimits): Promise<RawRgb> {
  checkSize(size);
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await openRgb(bytes, limits)
      .resize(size, size, { fit: 'contain', position: 'centre', background: BLACK })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    rejectOrRethrow(err, bytes.length);
  }
  const { data, info } = out;
  if (info.channels !== 3 || info.width !== size || info.height !== size) {
    // A libvips surprise, not the user's fault: fail loudly rather than store a wrong-shaped image.
    throw new Error(`Letterboxing produced ${info.width} x ${info.height} x ${info.channels} instead of ${size} x ${size} x 3; report this image to the maintainers.`);
  }
  return { data, width: size, height: size };
}

/**
 * Validates and cleans one photo. Throws ImageRejectedError for bad input (empty, too large, too many
 * pixels, not an image, corrupt, unsupported format); any other error is environmental and retryable.
 */
export async function cleanImage(bytes: Buffer, opts: CleanImageOptions): Promise<CleanedImage> {
  const probed = await probeImage(bytes, opts);
  const raw = await letterboxRaw(bytes, opts.size, opts);
  const letterboxed = await sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } })
    .jpeg({ quality: LETTERBOX_JPEG_QUALITY })
    .toBuffer();
  return {
    letterboxed,
    rgb: raw.data,
    width: probed.width,
    height: probed.height,
    format: probed.format,
    channels: probed.channels,
    hasAlpha: probed.hasAlpha,
    bytes: bytes.length,
  };
}

