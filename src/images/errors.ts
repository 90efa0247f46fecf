// Permanent image problems: the bytes themselves are bad, so retrying cannot help. The queue layer turns
// these into BullMQ UnrecoverableError; any other error from this module is treated as transient.

export const IMAGE_REJECTION_CODES = [
  'empty',
  'too_large',
  'too_many_pixels',
  'not_an_image',
  'corrupt',
  'unsupported',
] as const;

export type ImageRejectionCode = (typeof IMAGE_REJECTION_CODES)[number];

export class ImageRejectedError extends Error {
  override readonly name = 'ImageRejectedError';

  constructor(
    readonly code: ImageRejectionCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isImageRejectedError(err: unknown): err is ImageRejectedError {
  return err instanceof ImageRejectedError;
}
