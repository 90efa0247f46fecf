// Photo sources: local files, inline uploads stored in Postgres, and guarded http(s) fetches.
export { checkAddress, isHostAllowed, isIpLiteral, normalizeHost } from './address-policy.js';
export { fetchPhotoUrl, checkHop, systemResolver, PhotoUrlRefusedError } from './fetch-guard.js';
export type { FetchGuardOptions, ResolvedAddress, Resolver } from './fetch-guard.js';
export { readPhoto, readLocalPhoto, photoFetchSettings, uploadSource, UPLOAD_SCHEME } from './read-photo.js';
export type { PhotoContext, PhotoFetchConfig } from './read-photo.js';
