// Where a photo's bytes come from, by the form of its source string:
//   "upload:<image id>"  an inline photo from a webhook delivery, stored in Postgres (uploaded_photos)
//   "http(s)://..."      a URL, fetched through the guard in fetch-guard.ts
//   anything else        a local file path or file:// URL (the catalogue backfill)
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.js';
import type { Queryable } from '../db/pool.js';
import { getUploadedPhoto } from '../db/uploaded-photos-repo.js';
import { PermanentJobError } from '../pipeline/errors.js';
import { fetchPhotoUrl, type FetchGuardOptions, type Resolver } from './fetch-guard.js';

export const UPLOAD_SCHEME = 'upload:';

export type PhotoFetchConfig = Pick<
  Config,
  'PHOTO_HOST_ALLOWLIST' | 'PHOTO_FETCH_TIMEOUT_MS' | 'PHOTO_FETCH_MAX_REDIRECTS' | 'PHOTO_FETCH_ALLOW_LOOPBACK'
>;

export interface PhotoContext {
  db: Queryable;
  /**
   * The process configuration. Typed loosely because stages receive a narrowed Pick of Config; the
   * PHOTO_* keys are read when present and otherwise fall back to the safe defaults (no host allowed).
   */
  config: object;
  /** Tests inject a resolver and a connect recorder; production uses DNS. */
  resolve?: Resolver;
  onConnect?: FetchGuardOptions['onConnect'];
}

/** The guard settings from a config object, with the config's own defaults for missing keys. */
export function photoFetchSettings(config: object): PhotoFetchConfig {
  const c = config as Partial<PhotoFetchConfig>;
  return {
    PHOTO_HOST_ALLOWLIST: Array.isArray(c.PHOTO_HOST_ALLOWLIST) ? c.PHOTO_HOST_ALLOWLIST : [],
    PHOTO_FETCH_TIMEOUT_MS: c.PHOTO_FETCH_TIMEOUT_MS ?? 10_000,
    PHOTO_FETCH_MAX_REDIRECTS: c.PHOTO_FETCH_MAX_REDIRECTS ?? 3,
    PHOTO_FETCH_ALLOW_LOOPBACK: c.PHOTO_FETCH_ALLOW_LOOPBACK === true,
  };
}

export function uploadSource(imageId: string): string {
  return `${UPLOAD_SCHEME}${imageId}`;
}

/**
 * Reads a local photo file; a missing file is permanent. At most `maxBytes + 1` bytes are read (enough
 * for the image checks to reject the file as too large), so a huge file costs no memory, and anything
 * but a regular file (a directory, a named pipe, a device) is refused without reading from it: opening
 * is non-blocking, so a pipe with no writer cannot hang the worker.
 */
export async function readLocalPhoto(source: string, maxBytes: number): Promise<Buffer> {
  if (/^[a-z]+:\/\//i.test(source) && !source.startsWith('file://')) {
    throw new PermanentJobError(`Photo source ${source} is a URL of a kind this worker cannot read; use http(s) or a file path.`, 'unsupported_source');
  }
  let path: string;
  try {
    // fileURLToPath decodes %20 and friends, which URL.pathname leaves encoded.
    path = source.startsWith('file://') ? fileURLToPath(source) : source;
  } catch (err) {
    throw new PermanentJobError(`Photo source ${source} is not a valid local file URL (${(err as Error).message}); use file:///absolute/path or a plain path.`, 'unsupported_source');
  }
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new PermanentJobError(`Photo file ${path} does not exist; add it to the image folder and rerun the backfill.`, 'missing_file');
    }
    throw err;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new PermanentJobError(
        `Photo path ${path} is not a regular file (a directory, pipe or device); put the photo file itself there and rerun the backfill.`,
        'not_a_file',
      );
    }
    // One byte past the limit is enough for the image checks to reject it as too large.
    const buffer = Buffer.allocUnsafe(Math.min(info.size, maxBytes) + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** Reads a photo's bytes from any supported source. */
export async function readPhoto(source: string, maxBytes: number, ctx: PhotoContext): Promise<Buffer> {
  if (source.startsWith(UPLOAD_SCHEME)) {
    const imageId = source.slice(UPLOAD_SCHEME.length);
    const bytes = await getUploadedPhoto(ctx.db, imageId);
    if (!bytes) {
      throw new PermanentJobError(`The uploaded photo ${imageId} is no longer stored; deliver the listing again with its photos.`, 'missing_upload');
    }
    return bytes.length > maxBytes ? bytes.subarray(0, maxBytes + 1) : bytes;
  }
  if (/^https?:\/\//i.test(source)) {
    const s = photoFetchSettings(ctx.config);
    return fetchPhotoUrl(source, {
      allowHosts: s.PHOTO_HOST_ALLOWLIST,
      allowLoopback: s.PHOTO_FETCH_ALLOW_LOOPBACK,
      timeoutMs: s.PHOTO_FETCH_TIMEOUT_MS,
      maxRedirects: s.PHOTO_FETCH_MAX_REDIRECTS,
      maxBytes,
      ...(ctx.resolve ? { resolve: ctx.resolve } : {}),
      ...(ctx.onConnect ? { onConnect: ctx.onConnect } : {}),
    });
  }
  return readLocalPhoto(source, maxBytes);
}
