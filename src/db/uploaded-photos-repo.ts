// Photos delivered inline (base64) with a webhook listing, kept until their image row is deleted
// (migration 0003's trigger). The image-clean pool reads them back through "upload:<image id>".
import { assertUniqueKeys, chunk } from './batch.js';
import type { Queryable } from './pool.js';

export interface UploadedPhotoInput {
  imageId: string;
  listingId: string;
  bytes: Buffer;
  /** sha256 of bytes, hex. */
  sha256: string;
}

// Uploads are a few MB each: a handful per statement keeps statements small.
const UPLOADS_PER_STATEMENT = 8;

/** Stores uploads; an existing image id keeps its bytes (ids derive from the bytes, so they are equal). */
export async function saveUploadedPhotos(db: Queryable, photos: readonly UploadedPhotoInput[]): Promise<void> {
  assertUniqueKeys(photos.map((p) => p.imageId), 'Uploaded image id');
  for (const part of chunk(photos, UPLOADS_PER_STATEMENT)) {
    const params: unknown[] = [];
    const values = part.map((p, i) => {
      params.push(p.imageId, p.listingId, p.bytes, p.sha256);
      return `($${i * 4 + 1}, $${i * 4 + 2}, $${i * 4 + 3}::bytea, $${i * 4 + 4})`;
    });
    await db.query(
      `INSERT INTO uploaded_photos (image_id, listing_id, bytes, sha256) VALUES ${values.join(', ')}
       ON CONFLICT (image_id) DO NOTHING`,
      params,
    );
  }
}

/** The bytes of an uploaded photo, or null when there is none under this image id. */
export async function getUploadedPhoto(db: Queryable, imageId: string): Promise<Buffer | null> {
  const { rows } = await db.query<{ bytes: Buffer }>('SELECT bytes FROM uploaded_photos WHERE image_id = $1', [imageId]);
  return rows[0]?.bytes ?? null;
}
