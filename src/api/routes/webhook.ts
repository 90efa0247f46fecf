// POST /webhooks/listing-created: signature first (on the raw bytes, before any parsing), then the
// replay check, then validation, then the same submit path as the backfill (batched under load).
// 202 once the flow is enqueued; 200 when identical content is already stored (nothing reprocessed).
// POST /webhooks/listing-deleted: the same checks, then the listing and everything stored for it go.
import type { FastifyInstance } from 'fastify';
import type { Redis } from '../../queues/connection.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/pool.js';
import { deleteListing } from '../../db/listings-repo.js';
import { saveUploadedPhotos } from '../../db/uploaded-photos-repo.js';
import type { ListingFlowProducer } from '../../queues/flows.js';
import { ApiError } from '../errors.js';
import { SubmitBatcher } from '../submit-batcher.js';
import type { ApiMetrics } from '../../metrics/api-metrics.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../signature.js';
import { deletionBodyJsonSchema, parseDeletionBody, parseWebhookBody, webhookBodyJsonSchema } from '../webhook-payload.js';

export interface WebhookDeps {
  config: Config;
  db: Db;
  redis: Redis;
  producer: ListingFlowProducer;
  metrics: ApiMetrics;
}

const accepted = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['accepted', 'unchanged'] },
    listingId: { type: 'string' },
    statusUrl: { type: 'string' },
  },
} as const;

const deleted = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['deleted', 'unknown'] }, listingId: { type: 'string' } },
} as const;

export async function webhookRoutes(app: FastifyInstance, deps: WebhookDeps): Promise<void> {
  const { config } = deps;
  // In this plugin's scope only: JSON arrives as raw bytes, because the signature covers the exact bytes.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const seenKey = (digest: string) => `${config.QUEUE_PREFIX}:webhook:seen:${digest}`;
  const submitter = new SubmitBatcher({ db: deps.db, producer: deps.producer });

  /**
   * The checks every signed delivery passes first: a configured secret, a JSON body, the signature over
   * the raw bytes, then the replay check. Returns a function that forgets the delivery, for when it was
   * not taken after all (so that the same signed request may be sent again, e.g. after a 503).
   */
  const acceptSigned = async (body: unknown, headers: Record<string, unknown>, receivedAt: number): Promise<() => Promise<void>> => {
    if (!config.WEBHOOK_SECRET) {
      throw new ApiError(503, 'Webhook deliveries are not accepted: the API has no WEBHOOK_SECRET configured.');
    }
    if (!Buffer.isBuffer(body)) throw new ApiError(415, 'Send the delivery as application/json.');
    const check = verifySignature({
      secret: config.WEBHOOK_SECRET,
      rawBody: body,
      signature: headers[SIGNATURE_HEADER] as string | undefined,
      timestamp: headers[TIMESTAMP_HEADER] as string | undefined,
      toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS,
      nowSeconds: Math.floor(receivedAt / 1000),
    });
    if (!check.ok) {
      deps.metrics.webhook.inc({ outcome: 'bad_signature' });
      throw new ApiError(401, check.reason);
    }
    // A signature stays valid until its timestamp leaves the window; remember it exactly that long.
    const ttl = Math.max(1, check.timestamp + config.WEBHOOK_TOLERANCE_SECONDS - Math.floor(receivedAt / 1000) + 1);
    const first = await deps.redis.set(seenKey(check.digest), '1', 'EX', ttl, 'NX');
    if (first === null) {
      deps.metrics.webhook.inc({ outcome: 'replay' });
      throw new ApiError(409, 'This exact signed request was already received (a replay); a retry must be signed again with a fresh timestamp.');
    }
    return async () => {
      await deps.redis.del(seenKey(check.digest)).catch(() => undefined);
    };
  };
  const signedHeaders = { type: 'object', properties: { [SIGNATURE_HEADER]: { type: 'string' }, [TIMESTAMP_HEADER]: { type: 'string' } } } as const;
  const signingNote =
    `Signed with HMAC-SHA256 over "<timestamp>.<raw body>": headers ${TIMESTAMP_HEADER} (Unix seconds) and ` +
    `${SIGNATURE_HEADER} ("sha256=<hex>"). Deliveries older than WEBHOOK_TOLERANCE_SECONDS, and exact replays, are refused.`;

  app.post('/webhooks/listing-created', {
    bodyLimit: config.WEBHOOK_BODY_LIMIT_BYTES,
    // The body is validated with zod after the signature check; this schema only documents it.
    validatorCompiler: () => () => true,
    schema: {
      summary: 'A new or edited listing from the marketplace (signed).',
      description: signingNote,
      tags: ['webhook'],
      headers: signedHeaders,
      body: webhookBodyJsonSchema,
      response: { 200: accepted, 202: accepted },
    },
  }, async (req, reply) => {
    const receivedAt = Date.now();
    const forget = await acceptSigned(req.body, req.headers, receivedAt);
    try {
      const { work, uploads } = parseWebhookBody(req.body as Buffer, { allowHosts: config.PHOTO_HOST_ALLOWLIST, maxPhotoBytes: config.IMAGE_MAX_BYTES });
      if (uploads.length > 0) await saveUploadedPhotos(deps.db, uploads);
      const enqueued = (await submitter.submit(work, receivedAt)) === 'enqueued';
      const listingId = work.listing.id;
      const statusUrl = `/listings/${encodeURIComponent(listingId)}`;
      deps.metrics.webhook.inc({ outcome: enqueued ? 'accepted' : 'unchanged' });
      return reply
        .status(enqueued ? 202 : 200)
        .header('location', statusUrl)
        .send({ status: enqueued ? 'accepted' : 'unchanged', listingId, statusUrl });
    } catch (err) {
      // The delivery was not taken: let the same signed request be sent again (e.g. after a 503).
      await forget();
      if (err instanceof ApiError) deps.metrics.webhook.inc({ outcome: 'invalid' });
      throw err;
    }
  });

  app.post('/webhooks/listing-deleted', {
    bodyLimit: 4096,
    validatorCompiler: () => () => true,
    schema: {
      summary: 'A listing the marketplace removed (sold, withdrawn): deleted with its photos, embeddings and predictions (signed).',
      description:
        `${signingNote} The listing leaves similar-listing and search results at once (the search index drops it at its next ` +
        'resync, SEARCH_INDEX_RESYNC_MS). An unknown id answers 200 with status "unknown", so a retried delivery is harmless.',
      tags: ['webhook'],
      headers: signedHeaders,
      body: deletionBodyJsonSchema,
      response: { 200: deleted },
    },
  }, async (req) => {
    const forget = await acceptSigned(req.body, req.headers, Date.now());
    try {
      const listingId = parseDeletionBody(req.body as Buffer);
      const found = await deleteListing(deps.db, listingId);
      deps.metrics.webhook.inc({ outcome: found ? 'deleted' : 'unknown' });
      return { status: found ? 'deleted' : 'unknown', listingId };
    } catch (err) {
      await forget();
      if (err instanceof ApiError) deps.metrics.webhook.inc({ outcome: 'invalid' });
      throw err;
    }
  });
}
