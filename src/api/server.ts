// The HTTP API (Fastify): routes, validation, error shape, limits, docs, the web page and metrics.
// buildServer() only wires; main.ts owns the process (config, connections, shutdown).
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
import { installErrorHandlers } from './errors.js';
import { MAX_PHOTOS } from './webhook-payload.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes } from './routes/health.js';
import { listingRoutes } from './routes/listings.js';
import { predictRoutes } from './routes/predict.js';
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

export async function buildServer(deps: ApiDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    // The project's pino logger; Fastify's type names its own pino copy, hence the cast.
    loggerInstance: deps.log as unknown as FastifyBaseLogger,
    bodyLimit: config.API_BODY_LIMIT_BYTES,
    // One line per request at 200 requests/s is noise; responses are logged below instead.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    // Query strings such as ?k=10 arrive as text; coerce them to the schema's types.
    ajv: { customOptions: { coerceTypes: 'array', useDefaults: true, removeAdditional: true, allErrors: false } },
  });
  installErrorHandlers(app);

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
    limits: { fileSize: config.API_UPLOAD_MAX_BYTES, files: 1, fields: 4, parts: 5, fieldSize: 64 * 1024 },
    throwFileSizeLimit: true,
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  let limit: RateLimitConfig = {};
  if (config.API_RATE_LIMIT_PER_MINUTE > 0) {
    // Counters live in Redis so several API processes share one limit per client.
    await app.register(rateLimit, { global: false, redis: deps.redis, nameSpace: `${config.QUEUE_PREFIX}:ratelimit:` });
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
