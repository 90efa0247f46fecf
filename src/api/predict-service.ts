// Synchronous predictions in the API process, with the same model code as the pools: the photo is
// cleaned exactly as the image-clean pool cleans it, the text exactly as the catalogue's model text,
// then embedded and classified. Answers keep the research project's keys: Category and Probabilities.
import type { Config } from '../config.js';
import { cleanModelText } from '../domain/text.js';
import { cleanImage } from '../images/index.js';
import type { Classification, ImageEmbedder, ListingClassifier, TextEmbedder } from '../pipeline/model-ports.js';
import { ApiError } from './errors.js';

export interface ApiModels {
  textEmbedder: TextEmbedder | null;
  imageEmbedder: ImageEmbedder | null;
  classifier: ListingClassifier | null;
}

export interface PredictInput {
  image: Buffer | null;
  text: string | null;
  /** The listing's location, when the client knows it: read by encoders with a location view. */
  location?: string;
}

export interface PredictionAnswer {
  Category: string;
  /** Class name -> probability, every class, in class-code order. */
  Probabilities: Record<string, number>;
  modality: Classification['modality'];
  modelVersion: string;
}

/** What is missing for a kind of prediction, or null when it can run. */
export function missingModels(models: ApiModels, needs: { text: boolean; image: boolean }): string | null {
  const missing: string[] = [];
  if (!models.classifier) missing.push('the combined classifier');
  if (needs.text && !models.textEmbedder) missing.push('a text encoder');
  if (needs.image && !models.imageEmbedder) missing.push('an image encoder');
  if (missing.length === 0) return null;
  return `This API process is missing ${missing.join(' and ')}; register the models (see the README: setup / train) and restart the API.`;
}

function requireModels(models: ApiModels, needs: { text: boolean; image: boolean }) {
  const missing = missingModels(models, needs);
  if (missing) throw new ApiError(503, missing);
  return models as { classifier: ListingClassifier; textEmbedder: TextEmbedder | null; imageEmbedder: ImageEmbedder | null };
}

/** The fused-space embedding of a text query (the classifier's text-only path), for /search. */
export async function embedQuery(models: ApiModels, query: string): Promise<{ embedding: Float32Array; probabilities: Float32Array; answer: PredictionAnswer }> {
  const m = requireModels(models, { text: true, image: false });
  const text = cleanModelText(query);
  if (text === '') throw new ApiError(422, 'The query has no words left after cleaning (one-letter words and symbols are dropped); send a few words.');
  // A query reads like a listing title, so it also fills the title view of encoders that have one.
  const result = await m.classifier.classify({ text: await m.textEmbedder!.embed({ text, name: query, price: null, location: '' }), image: null });
  return { embedding: result.embedding, probabilities: result.probabilities, answer: toAnswer(m.classifier, result) };
}

export async function predict(
  models: ApiModels,
  config: Pick<Config, 'IMAGE_LETTERBOX_SIZE' | 'IMAGE_MAX_PIXELS' | 'API_UPLOAD_MAX_BYTES'>,
  input: PredictInput,
): Promise<{ answer: PredictionAnswer; embedding: Float32Array; probabilities: Float32Array }> {
  const m = requireModels(models, { text: input.text !== null, image: input.image !== null });
  const text = input.text === null ? null : cleanModelText(input.text);
  if (text === '') throw new ApiError(422, 'The text has no words left after cleaning (one-letter words and symbols are dropped); send a description.');
  // The photo (sharp, then the image encoder) and the text (the text encoder) are independent.
  const [textVector, imageVector] = await Promise.all([
    text === null ? null : m.textEmbedder!.embed({ text, name: input.text ?? '', price: null, location: input.location ?? '' }),
    input.image === null
      ? null
      : cleanImage(input.image, { size: config.IMAGE_LETTERBOX_SIZE, maxBytes: config.API_UPLOAD_MAX_BYTES, maxPixels: config.IMAGE_MAX_PIXELS })
          .then((cleaned) => m.imageEmbedder!.embed(cleaned.letterboxed)),
  ]);
  const result = await m.classifier.classify({ text: textVector, image: imageVector });
  return { answer: toAnswer(m.classifier, result), embedding: result.embedding, probabilities: result.probabilities };
}

function round(p: number): number {
  return Math.round(p * 1e6) / 1e6;
}

export function toAnswer(classifier: Pick<ListingClassifier, 'classes' | 'version'>, result: Classification): PredictionAnswer {
  let best = 0;
  const probabilities: Record<string, number> = {};
  classifier.classes.forEach((name, i) => {
    const p = result.probabilities[i] ?? 0;
    probabilities[name] = round(p);
    if (p > (result.probabilities[best] ?? 0)) best = i;
  });
  return { Category: classifier.classes[best]!, Probabilities: probabilities, modality: result.modality, modelVersion: classifier.version };
}
