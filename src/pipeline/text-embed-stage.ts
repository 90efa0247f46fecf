// Stage 2 (text-embed pool): embed the listing's cleaned text with the current text encoder (the
// embedder batches concurrent jobs itself) and store the vector under the encoder's version.
import type { Queryable } from '../db/pool.js';
import { getListing } from '../db/listings-repo.js';
import { upsertTextEmbeddingIfCurrent } from '../db/embeddings-repo.js';
import { QUEUES, parsePayload, textEmbedPayload } from '../queues/registry.js';
import type { TextEmbedder } from './model-ports.js';

export interface TextEmbedDeps {
  db: Queryable;
  embedder: TextEmbedder | null;
}

export type TextEmbedResult =
  | { outcome: 'embedded'; version: string }
  | { outcome: 'stale' | 'no_text' | 'no_encoder' };

export async function runTextEmbed(deps: TextEmbedDeps, data: unknown): Promise<TextEmbedResult> {
  const p = parsePayload(textEmbedPayload, data, QUEUES.textEmbed);
  const listing = await getListing(deps.db, p.listingId);
  // A newer version of the listing has its own jobs; this one has nothing left to do.
  if (!listing || listing.contentHash !== p.listingHash) return { outcome: 'stale' };
  if (!deps.embedder) return { outcome: 'no_encoder' };
  if (listing.modelText.trim() === '') return { outcome: 'no_text' };
  const vector = await deps.embedder.embed({ text: listing.modelText, name: listing.name, price: listing.price, location: listing.location });
  // The listing may have been edited while this job embedded it; the write checks again, atomically.
  const current = { listingId: listing.id, contentHash: p.listingHash };
  if (!(await upsertTextEmbeddingIfCurrent(deps.db, deps.embedder.version, current, vector))) return { outcome: 'stale' };
  return { outcome: 'embedded', version: deps.embedder.version };
}
