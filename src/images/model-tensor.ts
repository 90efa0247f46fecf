// Model input as in the research project (torchvision Resize(128) + CenterCrop(128) + ToTensor +
// Normalize): shorter side to `size`, centre crop, [0, 1], ImageNet mean/std, N x 3 x size x size CHW.
import sharp from 'sharp';
import { letterboxRaw } from './clean-image.js';
import type { RawRgb } from './clean-image.js';
import { DEFAULT_IMAGE_LIMITS, openRgb, probeImage, rejectOrRethrow } from './limits.js';
import type { ImageLimits } from './limits.js';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** Encoded bytes (any accepted format, e.g. a CleanedImage.letterboxed JPEG) or raw RGB pixels. */
export type TensorInput = Buffer | RawRgb;

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > 4096) {
    throw new RangeError(`The model input size must be an integer from 1 to 4096; got ${size}. Fix IMAGE_MODEL_SIZE.`);
  }
}

/** Shorter side to `size`, centre crop to size x size, as raw 8-bit RGB. */
async function cropRgb(input: TensorInput, size: number, limits: ImageLimits): Promise<Buffer> {
  const raw = !Buffer.isBuffer(input);
  if (raw && input.data.length !== input.width * input.height * 3) {
    throw new RangeError(`Raw RGB input of ${input.width} x ${input.height} needs ${input.width * input.height * 3} bytes but has ${input.data.length}; pass HWC uint8 RGB pixels.`);
  }
  if (!raw) await probeImage(input, limits);
  const pipeline = raw
    ? sharp(input.data, { raw: { width: input.width, height: input.height, channels: 3 } })
    : openRgb(input, limits);
  try {
    // 'cover' + centre position is exactly "resize the shorter side, then centre-crop".
    const { data, info } = await pipeline
      .resize(size, size, { fit: 'cover', position: 'centre' })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== size || info.height !== size) {
      throw new Error(`Cropping produced ${info.width} x ${info.height} x ${info.channels} instead of ${size} x ${size} x 3; report this image to the maintainers.`);
    }
    return data;
  } catch (err) {
    if (raw) throw err;
    rejectOrRethrow(err, input.length);
  }
}

/** Writes one HWC uint8 image into `out` at `offset` as normalised CHW float32. */
export function normaliseInto(rgb: Uint8Array, size: number, out: Float32Array, offset: number): void {
  const plane = size * size;
  for (let c = 0; c < 3; c++) {
    const mean = IMAGENET_MEAN[c] as number;
    const scale = 1 / (255 * (IMAGENET_STD[c] as number));
    const shift = mean / (IMAGENET_STD[c] as number);
    const base = offset + c * plane;
    for (let p = 0; p < plane; p++) out[base + p] = (rgb[p * 3 + c] as number) * scale - shift;
  }
}

/**
 * N x 3 x size x size float32 for the image encoder. Images are decoded concurrently (sharp runs on
 * libuv's thread pool); a bad image rejects the whole call with its ImageRejectedError, so callers
 * clean images first and batch only good ones.
 */
export async function toModelTensor(
  images: TensorInput[],
  size = 128,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): Promise<Float32Array> {
  checkSize(size);
  const crops = await Promise.all(images.map((img) => cropRgb(img, size, limits)));
  const out = new Float32Array(images.length * 3 * size * size);
  crops.forEach((rgb, i) => normaliseInto(rgb, size, out, i * 3 * size * size));
  return out;
}

/** size x size raw RGB (HWC uint8) after the letterbox fit, for small offline image features. */
export async function thumbnailRgb(
  bytes: Buffer,
  size: number,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): Promise<Uint8Array> {
  await probeImage(bytes, limits);
  const { data } = await letterboxRaw(bytes, size, limits);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
