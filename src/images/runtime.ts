// Process-wide sharp settings. The worker entry point that owns the process calls this once at start-up;
// library code never changes them behind its back.
import sharp from 'sharp';

export interface SharpRuntimeOptions {
  /**
   * libvips threads used for ONE image. Images run in parallel on libuv's thread pool
   * (UV_THREADPOOL_SIZE, default 4), so total threads ~ images in flight x this. On glibc Linux without
   * jemalloc sharp already defaults this to 1 to limit memory fragmentation.
   */
  threadsPerImage?: number;
  /** libvips' operation cache only helps when the same file is processed repeatedly; workers see each image once. */
  cache?: boolean;
}

export interface SharpRuntime {
  threadsPerImage: number;
  cache: boolean;
  /** Tasks waiting for a libuv thread and tasks being processed right now. */
  counters: { queue: number; process: number };
  simd: boolean;
}

export function configureSharp(options: SharpRuntimeOptions = {}): SharpRuntime {
  if (options.threadsPerImage !== undefined) {
    if (!Number.isInteger(options.threadsPerImage) || options.threadsPerImage < 1) {
      throw new RangeError(`threadsPerImage must be a positive integer; got ${options.threadsPerImage}. Fix the worker's sharp settings.`);
    }
    sharp.concurrency(options.threadsPerImage);
  }
  if (options.cache !== undefined) sharp.cache(options.cache);
  return sharpRuntime();
}

/** Current settings and queue counters, e.g. for metrics gauges. */
export function sharpRuntime(): SharpRuntime {
  const cache = sharp.cache();
  return {
    threadsPerImage: sharp.concurrency(),
    cache: cache.items.max > 0 || cache.memory.max > 0,
    counters: sharp.counters(),
    simd: sharp.simd(),
  };
}
