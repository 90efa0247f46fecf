// The one registry of queue names, job names and payload schemas. Jobs written by older code outlive
// deployments, so every handler parses its payload with these schemas before doing anything.
import { z } from 'zod';

export const QUEUES = {
  imageClean: 'image-clean',
  textEmbed: 'text-embed',
  infer: 'infer',
  schedule: 'schedule',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
/** The three pools of the listing flow, in the order work moves through them. */
export const POOL_QUEUES = [QUEUES.imageClean, QUEUES.textEmbed, QUEUES.infer] as const;

export const JOB_NAMES = {
  imageClean: 'clean-image',
  textEmbed: 'embed-text',
  infer: 'infer-listing',
  nightlyBackfill: 'nightly-backfill',
} as const;

const id = z.string().min(1).max(200);
const hash = z.string().regex(/^[0-9a-f]{8,64}$/, 'must be a hex content hash');

export const imageCleanPayload = z.object({
  v: z.literal(1),
  listingId: id,
  imageId: id,
  /** A local file path (backfill) or an http(s) URL (webhook). */
  source: z.string().min(1),
  listingHash: hash,
  runId: z.number().int().nullable(),
});
export type ImageCleanPayload = z.infer<typeof imageCleanPayload>;

export const textEmbedPayload = z.object({
  v: z.literal(1),
  listingId: id,
  listingHash: hash,
  runId: z.number().int().nullable(),
});
export type TextEmbedPayload = z.infer<typeof textEmbedPayload>;

export const inferPayload = z.object({
  v: z.literal(1),
  listingId: id,
  listingHash: hash,
  runId: z.number().int().nullable(),
  /** Epoch ms when the listing entered the system, for end-to-end latency. */
  receivedAt: z.number().int().nonnegative(),
  /** Set by `classify`: the classifier version that must produce this prediction. */
  modelVersion: z.string().optional(),
});
export type InferPayload = z.infer<typeof inferPayload>;

/** Parses a payload or throws a permanent error naming the queue and the problem. */
export function parsePayload<T>(schema: z.ZodType<T>, data: unknown, queue: string): T {
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new PayloadError(
      `A ${queue} job carried a payload this code cannot read (${z.prettifyError(parsed.error).replace(/\n/g, '; ')}); ` +
        'it was probably written by another version: re-enqueue the listing with the current producer.',
    );
  }
  return parsed.data;
}

export class PayloadError extends Error {
  override name = 'PayloadError';
}

/**
 * Job ids derive from listing/image ids plus the listing's content hash and content revision (a count of
 * content changes, migration 0004), so re-adding the same listing is a no-op while a changed listing
 * gets fresh jobs, even when its content returns to an earlier hash (A -> B -> A): BullMQ keeps finished
 * jobs for a while, and re-adding one of those ids would do nothing. Revision 0 adds no suffix, so ids
 * of jobs queued before revisions existed stay the same. BullMQ forbids ':' in custom ids.
 */
const suffix = (listingHash: string, revision: number) => `${listingHash.slice(0, 16)}${revision > 0 ? `.r${revision}` : ''}`;
export const jobIds = {
  infer: (listingId: string, listingHash: string, revision: number) => `infer.${listingId}.${suffix(listingHash, revision)}`,
  text: (listingId: string, listingHash: string, revision: number) => `text.${listingId}.${suffix(listingHash, revision)}`,
  image: (imageId: string, listingHash: string, revision: number) => `image.${imageId}.${suffix(listingHash, revision)}`,
};
