// The real catalogue sample (../shared/data/fbm, or SHARED_DIR) for the benches that measure models on
// it: its folder, or exit 2 with a clear message when it is absent.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config.js';

export function requireSample(bench: string): string {
  const fbm = path.join(loadConfig().SHARED_DIR, 'data', 'fbm');
  if (!existsSync(path.join(fbm, 'Products.csv'))) {
    console.error(`${bench} needs the real sample at ${fbm} (set SHARED_DIR); it is not there.`);
    process.exit(2);
  }
  return fbm;
}
