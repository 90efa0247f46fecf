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
 * Cards for the hits of `index`: the index that produced them, not deps.index, which the model watcher
 * may replace (with another classifier's categories) while the cards are read from Postgres.
 */
export async function resultCards(deps: Pick<ApiDeps, 'db'>, index: Pick<SearchIndex, 'categoryOf'>, hits: readonly Neighbour[]): Promise<ResultCard[]> {
  const cards = await listingCards(deps.db, hits.map((h) => h.id));
  return hits.map((h) => {
    const c = cards.get(h.id);
    return {
      id: h.id,
      score: Math.round(h.score * 1e6) / 1e6,
      similarity: Math.round(h.similarity * 1e6) / 1e6,
      category: index.categoryOf(h.id),
      name: c?.name ?? null,
      price: c?.price ?? null,
      location: c?.location ?? null,
      photoUrl: c?.photoId ? `/photos/${encodeURIComponent(c.photoId)}` : null,
      url: `/listings/${encodeURIComponent(h.id)}`,
    };
  });
}
