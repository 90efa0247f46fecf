// POST /predict/image, /predict/text, /predict/combined: a multipart form ("image" file, "text" field,
// optional "location" field),
// answered synchronously in the research project's shape { Category, Probabilities }. With ?similar=k
// the answer also lists the k most similar stored listings (the web page uses this).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { predict, type PredictInput } from '../predict-service.js';
import { resultCards, type RateLimitConfig } from './shared.js';

type Kind = 'image' | 'text' | 'combined';

/**
 * Longest "text" or "location" accepted, in characters, whatever the body's content type. A multipart
 * field over the parser's 64 KiB used to be cut there silently and classified as if that were the whole
 * text, while a JSON one went through whole (up to the 1 MiB body limit); both are now a 413.
 */
export const MAX_TEXT_CHARS = 64 * 1024;

function checkLength(field: string, value: string, truncated = false): string {
  if (truncated || value.length > MAX_TEXT_CHARS) {
    throw new ApiError(413, `The "${field}" field is longer than ${MAX_TEXT_CHARS} characters; send a shorter ${field === 'text' ? 'description' : field}.`);
  }
  return value;
}

/** Reads the form: at most one file (the "image" field), a "text" field and an optional "location". */
async function readForm(req: FastifyRequest): Promise<PredictInput> {
  const input: PredictInput = { image: null, text: null };
  if (!req.isMultipart()) {
    // JSON or urlencoded { text } is accepted as well, for text-only clients.
    const body = req.body as { text?: unknown; location?: unknown } | undefined;
    if (body && typeof body.text === 'string') input.text = checkLength('text', body.text);
    if (body && typeof body.location === 'string') input.location = checkLength('location', body.location);
    return input;
  }
  try {
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'image') {
          await part.toBuffer().catch(() => undefined);
          throw new ApiError(400, `Unexpected file field "${part.fieldname}"; send the photo in the "image" field.`);
        }
        input.image = await part.toBuffer();
      } else if (part.fieldname === 'text') {
        input.text = checkLength('text', String(part.value), part.valueTruncated);
      } else if (part.fieldname === 'location') {
        input.location = checkLength('location', String(part.value), part.valueTruncated);
      }
    }
  } catch (err) {
    throw malformedForm(err) ?? err;
  }
  return input;
}

/**
 * The multipart parser (busboy) reports a body it cannot parse (no boundary, truncated, ...) with a
 * plain Error, which would otherwise be a 500. Errors with a code or status (size limits, a closed
 * connection, our own ApiErrors) already map to the right answer and are left alone.
 */
function malformedForm(err: unknown): ApiError | null {
  if (!(err instanceof Error) || err instanceof ApiError) return null;
  const e = err as Error & { code?: unknown; statusCode?: unknown };
  if (e.code !== undefined || e.statusCode !== undefined) return null;
  return new ApiError(400, `Malformed multipart/form-data body: ${err.message}. Send a form with a boundary in the content-type, as HTTP clients do for FormData.`);
}

const answerSchema = {
  type: 'object',
  properties: {
    Category: { type: 'string' },
    Probabilities: { type: 'object', additionalProperties: { type: 'number' } },
    modality: { type: 'string', enum: ['combined', 'text', 'image'] },
    modelVersion: { type: 'string' },
    similar: { type: 'array', items: { type: 'object', additionalProperties: true } },
  },
} as const;

export async function predictRoutes(app: FastifyInstance, deps: ApiDeps, rateLimit: RateLimitConfig): Promise<void> {
  // Fastify parses text/plain by default; these routes take a form or JSON, so a plain-text body is the
  // documented 415 (it was a 400 saying the "text" field was missing). In this plugin's scope only.
  app.removeContentTypeParser('text/plain');
  const route = (kind: Kind, summary: string) =>
    app.post<{ Querystring: { similar: number } }>(`/predict/${kind}`, {
      config: rateLimit,
      schema: {
        summary,
        tags: ['predict'],
        consumes: ['multipart/form-data'],
        querystring: { type: 'object', properties: { similar: { type: 'integer', minimum: 0, maximum: 50, default: 0 } }, additionalProperties: false },
        response: { 200: answerSchema },
      },
    }, async (req) => {
      const form = await readForm(req);
      const input: PredictInput = {
        image: kind === 'text' ? null : form.image,
        text: kind === 'image' ? null : form.text,
        ...(form.location !== undefined ? { location: form.location } : {}),
      };
      if (kind === 'image' && !input.image) throw new ApiError(400, 'Send the photo as a file in the "image" form field.');
      if (kind === 'text' && input.text === null) throw new ApiError(400, 'Send the description in the "text" form field.');
      if (kind === 'combined' && !input.image && input.text === null) {
        throw new ApiError(400, 'Send a photo in the "image" form field and/or a description in the "text" field.');
      }
      if (input.image?.length === 0) throw new ApiError(400, 'The "image" file is empty; attach the photo.');
      // deps.models is read once, so the encoders and the classifier of one answer belong together.
      const { answer, embedding, probabilities } = await predict(deps.models, deps.config, input);
      const index = deps.index;
      if (req.query.similar > 0 && index.ready && index.modelVersion === answer.modelVersion) {
        return { ...answer, similar: await resultCards(deps, index, index.search(embedding, { k: req.query.similar, probabilities })) };
      }
      return answer;
    });
  route('image', 'Category of a photo (multipart "image" file).');
  route('text', 'Category of a description (multipart "text" field).');
  route('combined', 'Category from a photo and a description together (either may be left out).');
}
