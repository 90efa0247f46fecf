// Where a photo's bytes come from, by the form of its source string:
//   "upload:<image id>"  an inline photo from a webhook delivery, stored in Postgres (uploaded_photos)
//   "http(s)://..."      a URL, fetched through the guard in fetch-guard.ts
//   anything else        a local file path or file:// URL (the catalogue backfill)
import { readFile } from 'node:fs/promises';
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

/** Reads a local photo file; the behaviour the backfill has always had (missing file: permanent). */
export async function readLocalPhoto(source: string, maxBytes: number): Promise<Buffer> {
  if (/^[a-z]+:\/\//i.test(source) && !source.startsWith('file://')) {
    throw new PermanentJobError(`Photo source ${source} is a URL of a kind this worker cannot read; use http(s) or a file path.`, 'unsupported_source');
  }
  const path = source.startsWith('file://') ? new URL(source).pathname : source;
  try {
    const bytes = await readFile(path);
    // One byte past the limit is enough for the image checks to reject it as too large.
    return bytes.length > maxBytes ? bytes.subarray(0, maxBytes + 1) : bytes;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new PermanentJobError(`Photo file ${path} does not exist; add it to the image folder and rerun the backfill.`, 'missing_file');
    }
    throw err;
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
