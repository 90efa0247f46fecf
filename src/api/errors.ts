// Every error leaves the API as JSON { statusCode, error, message, requestId } with the status that
// tells the client what to do. Messages of client errors are written for the client; anything
// unexpected becomes a 500 with a generic message (the details, stack included, go to the log only).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DbUnavailableError } from '../db/errors.js';
import { isImageRejectedError, type ImageRejectionCode } from '../images/index.js';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable',
  409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity',
  429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

const IMAGE_STATUS: Record<ImageRejectionCode, number> = {
  empty: 400,
  too_large: 413,
  too_many_pixels: 413,
  not_an_image: 415,
  unsupported: 415,
  corrupt: 422,
};

// Fastify's and its plugins' own error codes whose default messages are terse: say what to do.
const FASTIFY_MESSAGES: Record<string, (e: FastifyError) => string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => 'The request body is larger than this endpoint accepts; send a smaller body (see /docs for the limits).',
  FST_REQ_FILE_TOO_LARGE: () => 'The uploaded file is larger than this endpoint accepts; send a smaller image (see /docs for the limits).',
  FST_FILES_LIMIT: () => 'Send at most one file, in the "image" field.',
  FST_PARTS_LIMIT: () => 'The form has too many parts; send only the "image" file and the "text" field.',
  FST_FIELDS_LIMIT: () => 'The form has too many fields; send only the "image" file and the "text" field.',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (e) => `${e.message}; see /docs for the content types each endpoint accepts.`,
  FST_INVALID_MULTIPART_CONTENT_TYPE: () => 'This endpoint takes multipart/form-data with an "image" file and/or a "text" field.',
  FST_ERR_CTP_EMPTY_JSON_BODY: () => 'The JSON body is empty; send a JSON object.',
  FST_ERR_CTP_INVALID_JSON_BODY: () => 'The body is not valid JSON.',
};

// Multipart's "not multipart" is a 406 by default; for the client it is the wrong media type.
const STATUS_OVERRIDES: Record<string, number> = { FST_INVALID_MULTIPART_CONTENT_TYPE: 415 };

export function errorBody(statusCode: number, message: string, requestId: string) {
  return { statusCode, error: REASONS[statusCode] ?? 'Error', message, requestId };
}

/**
 * ioredis's ways of saying "Redis is not there": a command given up after the connection's retries,
 * one sent on a closed connection, or one refused while disconnected. Before, these were a 500 that
 * told a webhook sender nothing it could act on, while the same outage of Postgres was a 503.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    err.message === 'Connection is closed.' ||
    err.message.startsWith("Stream isn't writeable and enableOfflineQueue options is false")
  );
}

/** Maps any thrown error to a status and a client-safe message. */
export function classify(err: unknown): { statusCode: number; message: string; expected: boolean } {
  if (err instanceof ApiError) return { statusCode: err.statusCode, message: err.message, expected: true };
  if (isImageRejectedError(err)) return { statusCode: IMAGE_STATUS[err.code], message: err.message, expected: true };
  if (err instanceof DbUnavailableError) {
    return { statusCode: 503, message: 'The database is unavailable right now; retry in a few seconds.', expected: false };
  }
  if (isRedisUnavailable(err)) {
    return { statusCode: 503, message: 'The job queue (Redis) is unavailable right now; retry in a few seconds.', expected: false };
  }
  const e = err as Partial<FastifyError> & { validation?: unknown };
  if (e.validation) return { statusCode: 400, message: `Invalid request: ${e.message}.`, expected: true };
  const code = typeof e.code === 'string' ? e.code : '';
  const status = STATUS_OVERRIDES[code] ?? (typeof e.statusCode === 'number' ? e.statusCode : 500);
  if (status >= 400 && status < 500) {
    const custom = FASTIFY_MESSAGES[code];
    return { statusCode: status, message: custom ? custom(e as FastifyError) : (e.message ?? 'The request was refused.'), expected: true };
  }
  return { statusCode: status >= 500 && status < 600 ? status : 500, message: 'An internal error occurred; it has been logged. Retry later or report the request id.', expected: false };
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const { statusCode, message, expected } = classify(err);
    if (expected) req.log.info({ statusCode, message }, 'request refused');
    else req.log.error({ err }, 'request failed');
    // Rate-limit answers carry retry-after headers already set by the plugin.
    void reply.status(statusCode).type('application/json').send(errorBody(statusCode, message, req.id));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(errorBody(404, `There is no ${req.method} ${req.url.split('?')[0]}; see /docs for the endpoints.`, req.id));
  });
}
