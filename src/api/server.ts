// The HTTP API (Fastify): routes, validation, error shape, limits, docs, the web page and metrics.
// buildServer() only wires; main.ts owns the process (config, connections, shutdown).
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { PROJECT_ROOT } from '../config.js';
import type { ApiDeps } from './deps.js';
import { ApiError, installErrorHandlers } from './errors.js';
import { MAX_PHOTOS } from './webhook-payload.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes } from './routes/health.js';
import { listingRoutes } from './routes/listings.js';
import { MAX_TEXT_CHARS, predictRoutes } from './routes/predict.js';
import { searchRoutes } from './routes/search.js';
import type { RateLimitConfig } from './routes/shared.js';
import { webhookRoutes } from './routes/webhook.js';

/** The web page's folder: beside this file in the source tree (tsc does not copy it into dist/). */
export function publicDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'public'), path.join(PROJECT_ROOT, 'src', 'api', 'public'), path.join(PROJECT_ROOT, '..', 'src', 'api', 'public')];
  const found = candidates.find((d) => existsSync(path.join(d, 'index.html')));
  if (!found) throw new Error(`The web page files are missing (looked in ${candidates.join(', ')}); run the API from a checkout of the project.`);
  return found;
}

/**
 * The longest a request may take to arrive, headers and body (408 after). Fastify turns Node's own
 * limit (300 s) off by default, so a client trickling a body, or sending none after its headers, held
 * a connection, its buffers and the shutdown drain indefinitely. 120 s lets a 16 MiB webhook delivery
 * or a 10 MiB upload arrive over a slow link.
 */
export const REQUEST_TIMEOUT_MS = 120_000;

/**
 * Route parameters (listing and photo ids, up to 128 characters) may be this long. Fastify's default
 * of 100 made GET /listings/<a valid 101-128 character id> a 404 "no such route" for listings the
 * webhook had accepted; longer values reach the route and its schema answers 400.
 */
const MAX_PARAM_LENGTH = 1000;

export interface ServerOptions {
  /** Overrides REQUEST_TIMEOUT_MS (tests). */
  requestTimeoutMs?: number;
}

export async function buildServer(deps: ApiDeps, options: ServerOptions = {}): Promise<FastifyInstance> {
  const { config } = deps;
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const app = Fastify({
    // The project's pino logger; Fastify's type names its own pino copy, hence the cast.
    loggerInstance: deps.log as unknown as FastifyBaseLogger,
    bodyLimit: config.API_BODY_LIMIT_BYTES,
    // One line per request at 200 requests/s is noise; responses are logged below instead.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    requestTimeout,
    http: {
      // Node treats the smaller of the two timeouts as the headers timeout, so the headers' own must not exceed it.
      headersTimeout: Math.min(60_000, requestTimeout),
      // Node checks these timeouts on this interval (30 s by default).
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(requestTimeout / 4))),
    },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Requests that arrive while the server drains get the 503 below, in the API's error shape (Fastify's
    // own had no requestId and no advice).
    return503OnClosing: false,
    // Query strings such as ?k=10 arrive as text; coerce them to the schema's types.
    ajv: { customOptions: { coerceTypes: 'array', useDefaults: true, removeAdditional: true, allErrors: false } },
  });
  installErrorHandlers(app);

  // Graceful shutdown: app.close() stops accepting connections and waits for the requests in flight; a
  // request that still arrives on an open keep-alive connection is refused, and its connection closed.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_req, reply) => {
    if (!closing) return;
    void reply.header('connection', 'close');
    throw new ApiError(503, 'This API process is shutting down; retry the request (another process, or this one once restarted, will answer).');
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    deps.metrics.httpDuration.observe({ route, method: req.method, status: String(reply.statusCode) }, seconds);
    req.log.debug({ method: req.method, route, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Listing pipeline API',
        version: '1',
        description: 'Categorises marketplace listings from photos and text, and ranks similar listings. See docs/api.md.',
      },
      tags: [
        { name: 'webhook' }, { name: 'predict' }, { name: 'listings' }, { name: 'ranking' }, { name: 'operations' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(multipart, {
    // fieldSize is in bytes: room for MAX_TEXT_CHARS characters of any UTF-8 width; the route counts characters.
    limits: { fileSize: config.API_UPLOAD_MAX_BYTES, files: 1, fields: 4, parts: 5, fieldSize: 4 * MAX_TEXT_CHARS },
    throwFileSizeLimit: true,
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  let limit: RateLimitConfig = {};
  if (config.API_RATE_LIMIT_PER_MINUTE > 0) {
    // Counters live in Redis so several API processes share one limit per client. The routes it
    // guards do not need Redis otherwise, so a Redis outage must not take them down: the limiter has
    // its own connection that fails at once instead of queueing commands while it reconnects (with the
    // shared one every /predict, /search and /similar waited seconds and then answered 500), and a
    // request whose count cannot be read is let through.
    const limiterRedis = deps.redis.duplicate({ enableOfflineQueue: false, lazyConnect: false, maxRetriesPerRequest: 0, commandTimeout: 500 });
    limiterRedis.on('error', (err: Error) => deps.log.warn({ err: err.message }, 'rate-limit Redis connection error: requests pass unlimited until it is back'));
    app.addHook('onClose', async () => limiterRedis.disconnect());
    // Counting starts with the first request: wait (briefly) for the connection rather than let it pass.
    if (limiterRedis.status !== 'ready') {
      let timer: NodeJS.Timeout | undefined;
      // once() rejects on the connection's first 'error' (Redis down at boot): that must not stop the API.
      const ready = once(limiterRedis, 'ready').catch(() => undefined);
      await Promise.race([ready, new Promise((r) => (timer = setTimeout(r, 2000)))]).finally(() => clearTimeout(timer));
    }
    await app.register(rateLimit, {
      global: false,
      redis: limiterRedis,
      nameSpace: `${config.QUEUE_PREFIX}:ratelimit:`,
      skipOnError: true,
    });
    limit = { rateLimit: { max: config.API_RATE_LIMIT_PER_MINUTE, timeWindow: 60_000 } };
  }

  await app.register(fastifyStatic, { root: publicDir(), prefix: '/', decorateReply: false, index: 'index.html' });
  await app.register(async (scope) => healthRoutes(scope, deps));
  await app.register(async (scope) => webhookRoutes(scope, deps));
  await app.register(async (scope) => listingRoutes(scope, deps, limit));
  await app.register(async (scope) => predictRoutes(scope, deps, limit));
  await app.register(async (scope) => searchRoutes(scope, deps, limit));
  await app.register(async (scope) => adminRoutes(scope, deps));
  app.log.debug({ maxPhotos: MAX_PHOTOS }, 'routes registered');
  return app;
}
