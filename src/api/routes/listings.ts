// Reading results: a listing's status and outcome, its cleaned photos, and its most similar listings.
import type { FastifyInstance } from 'fastify';
import { imagesForListing, getCleanedJpeg } from '../../db/images-repo.js';
import { getListing } from '../../db/listings-repo.js';
import { getLatestPrediction } from '../../db/predictions-repo.js';
import { CATEGORY_NAMES } from '../../domain/category.js';
import { ID_PATTERN } from '../../domain/listing.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { resultCards, similarQuery, type RateLimitConfig } from './shared.js';

// Listing and photo ids all match ID_PATTERN (catalogue rows and webhook deliveries are validated with
// it; webhook photo ids are "<listing id>_<hex>"). Checking it here answers 400 for anything else, e.g.
// a %00 that Postgres would refuse with an error (a 500) instead of "not found".
const idString = { type: 'string', pattern: ID_PATTERN.source } as const;
const idParam = { type: 'object', required: ['id'], properties: { id: idString } } as const;
const imageIdParam = { type: 'object', required: ['imageId'], properties: { imageId: idString } } as const;

export async function listingRoutes(app: FastifyInstance, deps: ApiDeps, rateLimit: RateLimitConfig): Promise<void> {
  app.get<{ Params: { id: string } }>('/listings/:id', {
    schema: { summary: 'Status, cleaned fields, prediction, per-photo outcomes and failure reasons of a listing.', tags: ['listings'], params: idParam },
  }, async (req) => {
    const listing = await getListing(deps.db, req.params.id);
    if (!listing) throw new ApiError(404, `Listing ${req.params.id} is not known; deliver it through the webhook or a backfill first.`);
    const [images, prediction] = await Promise.all([imagesForListing(deps.db, listing.id), getLatestPrediction(deps.db, listing.id)]);
    const classifier = deps.models.classifier;
    const classes = classifier && prediction && classifier.version === prediction.modelVersion ? classifier.classes : CATEGORY_NAMES;
    const failures = [
      ...(listing.status === 'failed' || listing.status === 'skipped' ? [{ scope: 'listing', reason: listing.statusReason }] : []),
      ...images.filter((i) => i.status === 'failed').map((i) => ({ scope: `photo ${i.position + 1}`, code: i.failureCode, reason: i.failureReason })),
    ];
    return {
      id: listing.id,
      status: listing.status,
      statusReason: listing.statusReason,
      source: listing.source,
      receivedAt: listing.createdAt,
      updatedAt: listing.updatedAt,
      processedAt: listing.processedAt,
      listing: {
        name: listing.name,
        nameRaw: listing.nameRaw,
        description: listing.descriptionRaw,
        modelText: listing.modelText,
        price: listing.price,
        priceRaw: listing.priceRaw,
        location: listing.location,
        categoryPath: listing.categoryPath,
        label: listing.label,
      },
      prediction: prediction && {
        Category: prediction.category,
        Probabilities: Object.fromEntries([...prediction.probabilities].map((p, i) => [classes[i] ?? `class ${i}`, Math.round(p * 1e6) / 1e6])),
        modality: prediction.modality,
        modelVersion: prediction.modelVersion,
        storedAt: prediction.createdAt,
      },
      photos: images.map((i) => ({
        id: i.id,
        position: i.position,
        status: i.status,
        url: i.status === 'cleaned' ? `/photos/${encodeURIComponent(i.id)}` : null,
        width: i.width,
        height: i.height,
        format: i.format,
        bytes: i.bytes,
        failureCode: i.failureCode,
        failureReason: i.failureReason,
      })),
      failures,
    };
  });

  app.get<{ Params: { imageId: string } }>('/photos/:imageId', {
    schema: { summary: 'The cleaned (letterboxed) JPEG of a photo.', tags: ['listings'], params: imageIdParam },
  }, async (req, reply) => {
    const jpeg = await getCleanedJpeg(deps.db, req.params.imageId);
    if (!jpeg) throw new ApiError(404, `Photo ${req.params.imageId} has no cleaned image (unknown, pending or failed); see GET /listings/:id for its status.`);
    return reply.type('image/jpeg').header('cache-control', 'public, max-age=300').send(jpeg);
  });

  app.get<{ Params: { id: string }; Querystring: { k: number; category?: string } }>('/listings/:id/similar', {
    config: rateLimit,
    schema: { summary: 'Listings ranked by embedding similarity to this one, with cosine scores.', tags: ['ranking'], params: idParam, querystring: similarQuery },
  }, async (req) => {
    const { id } = req.params;
    const index = deps.index;
    if (!index.ready) throw new ApiError(503, 'The similarity index is still loading; retry in a few seconds.');
    const hits = index.similarTo(id, { k: req.query.k, ...(req.query.category ? { category: req.query.category } : {}) });
    if (!hits) {
      const listing = await getListing(deps.db, id);
      if (!listing) throw new ApiError(404, `Listing ${id} is not known.`);
      throw new ApiError(422, `Listing ${id} has no ${index.modelVersion ?? ''} prediction yet (status ${listing.status}); retry once GET /listings/${id} shows a prediction.`);
    }
    return { listingId: id, category: index.categoryOf(id), modelVersion: index.modelVersion, results: await resultCards(deps, index, hits) };
  });
}
