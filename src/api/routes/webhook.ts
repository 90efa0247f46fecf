// POST /webhooks/listing-created: signature first (on the raw bytes, before any parsing), then the
// replay check, then validation, then the same submit path as the backfill (batched under load).
// 202 once the flow is enqueued; 200 when identical content is already stored (nothing reprocessed).
import type { FastifyInstance } from 'fastify';
import type { Redis } from '../../queues/connection.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/pool.js';
import type { ListingFlowProducer } from '../../queues/flows.js';
import { ApiError } from '../errors.js';
import { DeliveryLedger } from '../delivery-ledger.js';
import { SubmitBatcher } from '../submit-batcher.js';
import type { ApiMetrics } from '../../metrics/api-metrics.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../signature.js';
import { parseWebhookBody, webhookBodyJsonSchema } from '../webhook-payload.js';

export interface WebhookDeps {
  config: Config;
  db: Db;
  redis: Redis;
  producer: ListingFlowProducer;
  metrics: ApiMetrics;
}

/** How long a copy of a request still being processed is asked to wait (`retry-after`). */
const IN_PROGRESS_RETRY_SECONDS = 2;

const accepted = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['accepted', 'unchanged'] },
    listingId: { type: 'string' },
    statusUrl: { type: 'string' },
  },
} as const;

export async function webhookRoutes(app: FastifyInstance, deps: WebhookDeps): Promise<void> {
  const { config } = deps;
  // In this plugin's scope only: JSON arrives as raw bytes, because the signature covers the exact bytes.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const ledger = new DeliveryLedger(deps.redis, config.QUEUE_PREFIX);
  const submitter = new SubmitBatcher({ db: deps.db, producer: deps.producer });

  app.post('/webhooks/listing-created', {
    bodyLimit: config.WEBHOOK_BODY_LIMIT_BYTES,
    // The body is validated with zod after the signature check; this schema only documents it.
    validatorCompiler: () => () => true,
    schema: {
      summary: 'A new or edited listing from the marketplace (signed).',
      description:
        `Signed with HMAC-SHA256 over "<timestamp>.<raw body>": headers ${TIMESTAMP_HEADER} (Unix seconds) and ` +
        `${SIGNATURE_HEADER} ("sha256=<hex>"). Deliveries older than WEBHOOK_TOLERANCE_SECONDS, and exact replays, are refused.`,
      tags: ['webhook'],
      headers: { type: 'object', properties: { [SIGNATURE_HEADER]: { type: 'string' }, [TIMESTAMP_HEADER]: { type: 'string' } } },
      body: webhookBodyJsonSchema,
      response: { 200: accepted, 202: accepted },
    },
  }, async (req, reply) => {
    const receivedAt = Date.now();
    if (!config.WEBHOOK_SECRET) {
      throw new ApiError(503, 'Webhook deliveries are not accepted: the API has no WEBHOOK_SECRET configured.');
    }
    if (!Buffer.isBuffer(req.body)) throw new ApiError(415, 'Send the listing as application/json.');
    const check = verifySignature({
      secret: config.WEBHOOK_SECRET,
      rawBody: req.body,
      signature: req.headers[SIGNATURE_HEADER] as string | undefined,
      timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined,
      toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS,
      nowSeconds: Math.floor(receivedAt / 1000),
    });
    if (!check.ok) {
      deps.metrics.webhook.inc({ outcome: 'bad_signature' });
      throw new ApiError(401, check.reason);
    }
    // A signature stays valid until its timestamp leaves the window; remember it exactly that long.
    const windowLeft = () => Math.max(1, check.timestamp + config.WEBHOOK_TOLERANCE_SECONDS - Math.floor(Date.now() / 1000) + 1);
    const claim = await ledger.claim(check.digest, windowLeft());
    if (claim.state === 'done') {
      deps.metrics.webhook.inc({ outcome: 'replay' });
      throw new ApiError(409, 'This exact signed request was already received (a replay); a retry must be signed again with a fresh timestamp.');
    }
    if (claim.state === 'in_progress') {
      // Not "already received": the running attempt may still fail. Retrying these same bytes shortly
      // gets 409 if that attempt was taken, or is taken itself if it failed.
      deps.metrics.webhook.inc({ outcome: 'in_progress' });
      void reply.header('retry-after', String(IN_PROGRESS_RETRY_SECONDS));
      throw new ApiError(429, `This exact signed request is being processed by another attempt right now; retry in ${IN_PROGRESS_RETRY_SECONDS} s (a 409 then means that attempt was taken).`);
    }
    const { token } = claim;
    const stopKeepAlive = ledger.keepAlive(check.digest, token, (err) => req.log.warn({ err }, 'could not extend the webhook delivery\'s in-progress mark'));
    let taken: { status: 200 | 202; listingId: string };
    try {
      const { work, uploads } = parseWebhookBody(req.body, { allowHosts: config.PHOTO_HOST_ALLOWLIST, maxPhotoBytes: config.IMAGE_MAX_BYTES });
      const enqueued = (await submitter.submit(work, receivedAt, uploads)) === 'enqueued';
      taken = { status: enqueued ? 202 : 200, listingId: work.listing.id };
    } catch (err) {
      // The delivery was not taken: let the same signed request be sent again (e.g. after a 503).
      stopKeepAlive();
      await ledger.release(check.digest, token).catch(() => undefined);
      if (err instanceof ApiError) deps.metrics.webhook.inc({ outcome: 'invalid' });
      throw err;
    }
    stopKeepAlive();
    // The listing is stored; a lost "done" mark only means a copy arriving later is taken again
    // (idempotently: same content, same flow), so it does not fail the delivery.
    await ledger.complete(check.digest, windowLeft()).catch((err: unknown) => req.log.warn({ err }, 'could not mark the webhook delivery as taken'));
    const enqueued = taken.status === 202;
    const statusUrl = `/listings/${encodeURIComponent(taken.listingId)}`;
    deps.metrics.webhook.inc({ outcome: enqueued ? 'accepted' : 'unchanged' });
    return reply
      .status(taken.status)
      .header('location', statusUrl)
      .send({ status: enqueued ? 'accepted' : 'unchanged', listingId: taken.listingId, statusUrl });
  });
}
