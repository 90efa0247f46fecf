// GET /search?q=...: the query is embedded with the text encoder and mapped into the classifier's fused
// space through its text-only path, then ranked against every stored listing like /similar.
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { embedQuery } from '../predict-service.js';
import { resultCards, similarQuery, type RateLimitConfig } from './shared.js';

export async function searchRoutes(app: FastifyInstance, deps: ApiDeps, rateLimit: RateLimitConfig): Promise<void> {
  app.get<{ Querystring: { q: string; k: number; category?: string } }>('/search', {
    config: rateLimit,
    schema: {
      summary: 'Listings ranked by similarity to a text query, optionally within one category.',
      tags: ['ranking'],
      querystring: {
        ...similarQuery,
        required: ['q'],
        properties: { ...similarQuery.properties, q: { type: 'string', minLength: 1, maxLength: 1000 } },
      },
    },
  }, async (req) => {
    const index = deps.index;
    if (!index.ready) throw new ApiError(503, 'The search index is still loading; retry in a few seconds.');
    const { embedding, probabilities, answer } = await embedQuery(deps.models, req.query.q);
    if (index.modelVersion !== answer.modelVersion) {
      throw new ApiError(503, `The index holds ${index.modelVersion ?? 'no'} predictions but the API runs classifier ${answer.modelVersion}; wait for the listings to be predicted with it.`);
    }
    const hits = index.search(embedding, { k: req.query.k, probabilities, ...(req.query.category ? { category: req.query.category } : {}) });
    return { query: req.query.q, queryCategory: answer.Category, modelVersion: answer.modelVersion, results: await resultCards(deps, index, hits) };
  });
}
