// The listing-created webhook's body: validated, then turned into the same ListingWithPhotos the
// backfill submits. Photos come as URLs (fetched later by the image-clean pool through the guard) or
// inline as base64 (stored in Postgres now and read back as "upload:<image id>"). Image ids derive
// from the listing id, the position and the photo's URL or bytes, so a changed photo changes the
// listing's content hash (and is reprocessed) while an identical delivery changes nothing.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { UploadedPhotoInput } from '../db/uploaded-photos-repo.js';
import { CATEGORY_NAMES, isCategoryName, topLevelLabel } from '../domain/category.js';
import { buildListing, isValidId } from '../domain/listing.js';
import { isHostAllowed } from '../photos/address-policy.js';
import { uploadSource } from '../photos/read-photo.js';
import type { ListingWithPhotos } from '../pipeline/submit-listings.js';
import { ApiError } from './errors.js';

export const MAX_PHOTOS = 20;

/**
 * A string field without NUL characters: Postgres text cannot store U+0000 and refuses the whole
 * statement, which would fail every delivery submitted in the same batch (src/api/submit-batcher.ts).
 */
const text = () => z.string().refine((s) => !s.includes('\u0000'), 'must not contain the NUL character (\\u0000); remove it');

const photoSchema = z.union([
  text().min(1).max(4096),
  z.object({ url: text().min(1).max(4096) }),
  z.object({ data: z.string().min(1), contentType: text().max(100).optional() }),
]);

export const webhookPayloadSchema = z.object({
  id: z.string().refine(isValidId, 'must be 1-128 letters, digits, "-" or "_", starting with a letter or digit, and not all digits'),
  name: text().trim().min(1, 'must not be empty').max(1000),
  description: text().max(50_000).default(''),
  price: z.union([text().max(100), z.number().nonnegative().finite()]).optional(),
  location: text().max(1000).default(''),
  /**
   * Optional category path ("Home & Garden / ..."), for listings whose category is already known. Its top
   * level is a training label, so it must be one of the known categories, as a catalogue row's must:
   * an unknown one would stop every later `train`.
   */
  category: text()
    .max(1000)
    .refine((c) => c.trim() === '' || isCategoryName(topLevelLabel(c)), {
      error: `must start with one of the ${CATEGORY_NAMES.length} known top-level categories (${CATEGORY_NAMES.join(', ')}), or be left out`,
    })
    .optional(),
  photos: z.array(photoSchema).max(MAX_PHOTOS).default([]),
});
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;

/** JSON Schema of the body, for the OpenAPI document (the handler validates with zod after the signature). */
export const webhookBodyJsonSchema = z.toJSONSchema(webhookPayloadSchema, { io: 'input' });

export interface WebhookWork {
  work: ListingWithPhotos;
  uploads: UploadedPhotoInput[];
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function imageIdFor(listingId: string, position: number, digest: string): string {
  return `${listingId.slice(0, 64)}_${sha256(`${listingId}\u0000${position}\u0000${digest}`).slice(0, 20)}`;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeInline(data: string, position: number, maxBytes: number): Buffer {
  const body = data.replace(/^data:[\w.+-]+\/[\w.+-]+;base64,/, '').replace(/\s+/g, '');
  if (body.length % 4 !== 0 || !BASE64.test(body)) {
    throw new ApiError(422, `Photo ${position + 1} is not valid base64; send the photo's bytes base64-encoded (optionally as a data: URL).`);
  }
  // Checked before decoding: base64 is 4 characters per 3 bytes.
  if ((body.length / 4) * 3 > maxBytes + 2) {
    throw new ApiError(413, `Photo ${position + 1} is larger than the ${maxBytes}-byte photo limit; send a smaller photo.`);
  }
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length === 0) throw new ApiError(422, `Photo ${position + 1} is empty; send the photo's bytes.`);
  if (bytes.length > maxBytes) throw new ApiError(413, `Photo ${position + 1} is larger than the ${maxBytes}-byte photo limit; send a smaller photo.`);
  return bytes;
}

function checkUrl(raw: string, position: number, allowHosts: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError(422, `Photo ${position + 1} is not an absolute URL; send an http(s) URL or the photo as base64 in "data".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ApiError(422, `Photo ${position + 1} uses ${url.protocol}; only http(s) photo URLs are fetched.`);
  }
  if (url.username || url.password) throw new ApiError(422, `Photo ${position + 1}'s URL carries credentials; send a URL without user:password@.`);
  // An early, friendly refusal; the image-clean pool checks again, with the resolved addresses.
  if (!isHostAllowed(url.hostname, allowHosts)) {
    throw new ApiError(422, `Photo ${position + 1}'s host ${url.hostname} is not on the photo host allow-list; host it on an allowed host or send it inline as base64.`);
  }
  return url.toString();
}

/** Parses a verified body; 400 for schema violations, 413/422 for photos that cannot be used. */
export function parseWebhookBody(raw: Buffer, opts: { allowHosts: readonly string[]; maxPhotoBytes: number }): WebhookWork {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ApiError(400, 'The body is not valid JSON; send the listing as a JSON object.');
  }
  const parsed = webhookPayloadSchema.safeParse(json);
  if (!parsed.success) {
    throw new ApiError(400, `Invalid listing: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
  }
  const p = parsed.data;
  const uploads: UploadedPhotoInput[] = [];
  const photos = p.photos.map((photo, position) => {
    if (typeof photo === 'string' || 'url' in photo) {
      const url = checkUrl(typeof photo === 'string' ? photo : photo.url, position, opts.allowHosts);
      return { imageId: imageIdFor(p.id, position, sha256(url)), source: url };
    }
    const bytes = decodeInline(photo.data, position, opts.maxPhotoBytes);
    const digest = sha256(bytes);
    const imageId = imageIdFor(p.id, position, digest);
    uploads.push({ imageId, listingId: p.id, bytes, sha256: digest });
    return { imageId, source: uploadSource(imageId) };
  });
  const listing = buildListing(
    {
      id: p.id,
      productName: p.name,
      category: p.category ?? '',
      description: p.description,
      price: p.price === undefined ? '' : String(p.price),
      location: p.location,
    },
    photos.map((ph) => ({ id: ph.imageId, createTime: null })),
  );
  return { work: { listing, photos }, uploads };
}
