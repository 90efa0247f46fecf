// Which catalogue a command uses when none is named: the real sample in SHARED_DIR/data/fbm when it is
// there, else a small catalogue the project generates itself (photos drawn with sharp) under VAR_DIR.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { generateSampleCatalogue } from '../catalogue/generate-sample.js';

export interface CataloguePaths {
  productsPath: string;
  imagesPath: string;
  imageDir: string;
  /** 'fbm-sample' or 'builtin', for the output to say which was used. */
  label: string;
}

export function catalogueInDir(dir: string, label = dir): CataloguePaths {
  return {
    productsPath: path.join(dir, 'Products.csv'),
    imagesPath: path.join(dir, 'Images.csv'),
    imageDir: path.join(dir, 'images'),
    label,
  };
}

export async function defaultCatalogue(config: Pick<Config, 'SHARED_DIR' | 'VAR_DIR'>): Promise<CataloguePaths> {
  const fbm = path.join(config.SHARED_DIR, 'data', 'fbm');
  if (existsSync(path.join(fbm, 'Products.csv'))) return catalogueInDir(fbm, 'fbm-sample');
  const dir = path.join(config.VAR_DIR, 'builtin-catalogue');
  if (!existsSync(path.join(dir, 'Products.csv'))) {
    const out = await generateSampleCatalogue(dir, { listingsPerCategory: 40, seed: 7 });
    return { ...out, label: 'builtin' };
  }
  return catalogueInDir(dir, 'builtin');
}

/** Paths from --catalogue, from the three explicit options, or the default catalogue. */
export async function resolveCatalogue(
  config: Pick<Config, 'SHARED_DIR' | 'VAR_DIR'>,
  opts: { catalogue?: string; products?: string; images?: string; imageDir?: string },
): Promise<CataloguePaths> {
  if (opts.products || opts.images || opts.imageDir) {
    if (!opts.products || !opts.images || !opts.imageDir) {
      throw new Error('Give all three of --products, --images and --image-dir (or --catalogue DIR, or none for the default catalogue).');
    }
    return { productsPath: opts.products, imagesPath: opts.images, imageDir: opts.imageDir, label: opts.products };
  }
  if (opts.catalogue) return catalogueInDir(opts.catalogue);
  return defaultCatalogue(config);
}
