// `setup` step 1: fit the offline encoders (no download) from the catalogue already stored in Postgres,
// register them as current, and embed every stored listing and photo with them. The held-out split
// (10% of product ids) is never used for fitting unless holdout is off.
import path from 'node:path';
import type { Config } from '../config.js';
import { cleanedPhotos, listingTexts } from '../db/model-inputs-repo.js';
import { upsertImageEmbeddings, upsertTextEmbeddings } from '../db/embeddings-repo.js';
import type { Db } from '../db/pool.js';
import { CATEGORY_NAMES, categoryCode, isCategoryName } from '../domain/category.js';
import { splitOf } from '../domain/split.js';
import { thumbnailRgb } from '../images/index.js';
import type { Logger } from '../logging.js';
import { openImageEmbedder, openTextEmbedder } from '../models/load.js';
import { fitOfflineEncoders } from '../models/offline/fit.js';
import { DEFAULT_IMAGE_FEATURES } from '../models/offline/image-model.js';
import { registerModel } from '../models/registry/index.js';

/** Out-of-fold text embeddings are stored under the encoder version plus this suffix (training only). */
export const OOF_SUFFIX = '#oof';

export interface FitEncodersResult {
  textVersion: string;
  imageVersion: string;
  fittedListings: number;
  fittedPhotos: number;
  embeddedListings: number;
  embeddedPhotos: number;
  seconds: { fit: number; embed: number };
}

export async function fitEncodersFromDb(
  deps: { db: Db; config: Config; log: Logger },
  opts: { holdout: boolean; onStage?: (stage: string) => void },
): Promise<FitEncodersResult> {
  const { db, config, log } = deps;
  const inFit = (id: string) => splitOf(id, { holdout: opts.holdout }) !== 'test';
  const size = DEFAULT_IMAGE_FEATURES.size;

  opts.onStage?.('reading listings and photos');
  const texts = [];
  for await (const page of listingTexts(db)) texts.push(...page);
  // A label outside the class table (stored before the webhook checked categories) cannot train.
  const labelled = new Set(texts.filter((t) => t.label !== null && isCategoryName(t.label) && inFit(t.id)).map((t) => t.id));
  const photos: { listingId: string; imageId: string; rgb: Uint8Array }[] = [];
  const allPhotos: { imageId: string; jpeg: Buffer }[] = [];
  for await (const page of cleanedPhotos(db)) {
    for (const p of page) {
      allPhotos.push({ imageId: p.id, jpeg: p.jpeg });
      if (labelled.has(p.listingId)) photos.push({ listingId: p.listingId, imageId: p.id, rgb: await thumbnailRgb(p.jpeg, size) });
    }
  }
  if (labelled.size === 0) throw new Error('No labelled listings are stored; run a backfill of a labelled catalogue before `setup`.');

  const t0 = Date.now();
  opts.onStage?.(`fitting encoders on ${labelled.size} listings and ${photos.length} photos`);
  const fitted = await fitOfflineEncoders(
    {
      listings: texts.filter((t) => labelled.has(t.id)).map((t) => ({ id: t.id, modelText: t.modelText, name: t.name, price: t.price, location: t.location, label: categoryCode(t.label!) })),
      photos,
    },
    path.join(config.MODELS_DIR, 'generated'),
    { modelsDir: config.MODELS_DIR, classes: [...CATEGORY_NAMES], threads: config.FIT_THREADS || undefined, onProgress: (s) => opts.onStage?.(`fitting: ${s}`) },
  );
  // Recorded so that `evaluate --split test` and `npm start` can tell held-out figures from in-sample ones.
  for (const entry of [fitted.text, fitted.image]) entry.notes = { ...entry.notes, holdout: opts.holdout };
  await registerModel(config.MODELS_DIR, fitted.text, { makeCurrent: true });
  await registerModel(config.MODELS_DIR, fitted.image, { makeCurrent: true });
  const fitSeconds = (Date.now() - t0) / 1000;
  log.info({ text: fitted.text.version, image: fitted.image.version, fitSeconds, stageMs: fitted.timings }, 'offline encoders fitted and made current');

  // Training reads the out-of-fold embeddings: the in-sample ones of supervised encoders are over-confident.
  const contentOf = new Map(texts.map((t) => [t.id, t.contentHash] as const));
  await upsertTextEmbeddings(db, fitted.text.version + OOF_SUFFIX, [...fitted.outOfFoldText].map(([listingId, vector]) => ({ listingId, contentHash: contentOf.get(listingId)!, vector })));
  await upsertImageEmbeddings(db, fitted.image.version + OOF_SUFFIX, [...fitted.outOfFoldImage].map(([imageId, vector]) => ({ imageId, vector })));

  const t1 = Date.now();
  opts.onStage?.(`embedding ${texts.length} listings and ${allPhotos.length} photos`);
  const textEmbedder = (await openTextEmbedder(config, log, undefined, fitted.text))!;
  const imageEmbedder = (await openImageEmbedder(config, log, undefined, fitted.image))!;
  try {
    const withText = texts.filter((t) => t.modelText.trim() !== '');
    for (let i = 0; i < withText.length; i += 512) {
      const part = withText.slice(i, i + 512);
      const vectors = await Promise.all(part.map((t) => textEmbedder.embed({ text: t.modelText, name: t.name, price: t.price, location: t.location })));
      await upsertTextEmbeddings(db, fitted.text.version, part.map((t, j) => ({ listingId: t.id, contentHash: t.contentHash, vector: vectors[j]! })));
    }
    for (let i = 0; i < allPhotos.length; i += 512) {
      const part = allPhotos.slice(i, i + 512);
      const vectors = await Promise.all(part.map((p) => imageEmbedder.embed(p.jpeg)));
      await upsertImageEmbeddings(db, fitted.image.version, part.map((p, j) => ({ imageId: p.imageId, vector: vectors[j]! })));
    }
  } finally {
    await textEmbedder.close();
    await imageEmbedder.close();
  }
  return {
    textVersion: fitted.text.version,
    imageVersion: fitted.image.version,
    fittedListings: labelled.size,
    fittedPhotos: photos.length,
    embeddedListings: withTextCount(texts),
    embeddedPhotos: allPhotos.length,
    seconds: { fit: fitSeconds, embed: (Date.now() - t1) / 1000 },
  };
}

const withTextCount = (texts: { modelText: string }[]) => texts.filter((t) => t.modelText.trim() !== '').length;
