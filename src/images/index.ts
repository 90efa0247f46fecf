// The sharp adapter's public API: the only door through which the rest of the project touches images.
export { ImageRejectedError, IMAGE_REJECTION_CODES, isImageRejectedError } from './errors.js';
export type { ImageRejectionCode } from './errors.js';
export { ACCEPTED_FORMATS, DECODE_FAIL_ON, DEFAULT_IMAGE_LIMITS, imageLimits, probeImage } from './limits.js';
export type { ImageLimits, ProbedImage } from './limits.js';
export { cleanImage, LETTERBOX_JPEG_QUALITY } from './clean-image.js';
export type { CleanedImage, CleanImageOptions, RawRgb } from './clean-image.js';
export { IMAGENET_MEAN, IMAGENET_STD, thumbnailRgb, toModelTensor } from './model-tensor.js';
export type { TensorInput } from './model-tensor.js';
export { configureSharp, sharpRuntime } from './runtime.js';
export type { SharpRuntime, SharpRuntimeOptions } from './runtime.js';
export { renderSyntheticPhoto, seededRandom } from './synthetic.js';
export type { Rgb, SyntheticPhotoSpec, SyntheticShape } from './synthetic.js';
export { svgToPng } from './svg.js';
