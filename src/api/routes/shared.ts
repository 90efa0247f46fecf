// Pieces shared by the ranking routes: the k/category query schema and result cards.
import { listingCards } from '../../db/search-repo.js';
import { CATEGORY_NAMES } from '../../domain/category.js';
import type { Neighbour } from '../../search/exact-index.js';
import type { SearchIndex } from '../../search/search-index.js';
import type { ApiDeps } from '../deps.js';

/** Route-level config for @fastify/rate-limit (empty when the limit is off). */
export type RateLimitConfig = { rateLimit?: { max: number; timeWindow: number } } | Record<string, never>;

export const similarQuery = {
  type: 'object',
  properties: {
    k: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
    category: { type: 'string', enum: [...CATEGORY_NAMES] },
  },
  additionalProperties: false,
} as const;

export interface ResultCard {
  id: string;
  /** Ranking score: cosine similarity plus the category prior's bonus. */
  score: number;
  /** Cosine similarity of the embeddings. */
  similarity: number;
  /** The listing's own category when known, else the predicted one. */
  category: string | null;
  name: string | null;
  price: number | null;
  location: string | null;
  photoUrl: string | null;
  url: string;
}

/**
 * Extra neighbours asked of the index beyond k: a listing deleted (listing-deleted webhook) stays in
 * every API replica's index until its next resync, and is dropped here when its card is missing.
 */
export const DELETED_MARGIN = 10;

/**
 * Cards for the first `k` hits of `index` whose listing still exists: the index that produced them, not
 * deps.index, which the model watcher may replace (with another classifier's categories) while the
 * cards are read from Postgres. With `query`, also tells whether that listing still exists (one read).
 */
export async function resultCards(
  deps: Pick<ApiDeps, 'db'>,
  index: Pick<SearchIndex, 'categoryOf'>,
  hits: readonly Neighbour[],
  k: number,
  query?: string,
): Promise<{ cards: ResultCard[]; queryExists: boolean }> {
  const cards = await listingCards(deps.db, query === undefined ? hits.map((h) => h.id) : [query, ...hits.map((h) => h.id)]);
  const out: ResultCard[] = [];
  for (const h of hits) {
    const c = cards.get(h.id);
    if (!c) continue; // deleted since the index last synced
    out.push({
      id: h.id,
      score: Math.round(h.score * 1e6) / 1e6,
      similarity: Math.round(h.similarity * 1e6) / 1e6,
      category: index.categoryOf(h.id),
      name: c.name,
      price: c.price,
      location: c.location,
      photoUrl: c.photoId ? `/photos/${encodeURIComponent(c.photoId)}` : null,
      url: `/listings/${encodeURIComponent(h.id)}`,
    });
    if (out.length === k) break;
  }
  return { cards: out, queryExists: query === undefined || cards.has(query) };
}
