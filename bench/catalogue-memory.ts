// What streaming the catalogue saves: the backfill's read of a large catalogue, side by side in one run,
// loaded whole (every listing and its submit work in memory, as the backfill did before CatalogueReader)
// and streamed a chunk at a time (as it does now). The catalogue is the sample copied BENCH_COPIES times
// (default 20: 121,940 listings, 214,680 photo rows) with new ids and a changed description, so no copy
// is a duplicate. Each mode runs twice, each time in its own process: once untouched, for its elapsed
// time and peak resident memory (maxRSS), and once with a forced GC after every piece, for the largest
// live heap (the forced GCs would distort the first two). Prints them with ratios; then runs each mode a
// third time with the heap capped at BENCH_HEAP_MIB (default 200) and says which completes.
//   npm run bench:catalogue            BENCH_COPIES=50 BENCH_HEAP_MIB=400 npm run bench:catalogue
// Only the read is measured (no Postgres, no Redis): what reaches them is the same in both modes.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { CatalogueReader } from '../src/catalogue/catalogue-reader.js';
import { loadCatalogue } from '../src/catalogue/load-catalogue.js';
import { catalogueWork } from '../src/pipeline/backfill.js';
import { requireSample } from './sample.js';

interface Paths {
  productsPath: string;
  imagesPath: string;
  imageDir: string;
}

interface Measured {
  mode: string;
  listings: number;
  photos: number;
  seconds: number;
  maxRssMiB: number;
  peakLiveHeapMiB: number;
}

const MiB = 1024 * 1024;

/** The sample copied `copies` times: copy k's ids end in "-c<k>" and its descriptions in "(copy k)". */
async function writeScaledCatalogue(fbm: Paths, dir: string, copies: number): Promise<Paths> {
  const products = parse(await readFile(fbm.productsPath), { relax_column_count: true }) as string[][];
  const images = parse(await readFile(fbm.imagesPath), { relax_column_count: true }) as string[][];
  const [pHead, ...pRows] = products;
  const [iHead, ...iRows] = images;
  const pCol = (name: string) => pHead!.indexOf(name);
  const iCol = (name: string) => iHead!.indexOf(name);
  const outP: string[][] = [pHead!];
  const outI: string[][] = [iHead!];
  for (let k = 0; k < copies; k++) {
    for (const row of pRows) {
      const r = [...row];
      r[pCol('id')] = `${row[pCol('id')]}-c${k}`;
      r[pCol('product_description')] = `${row[pCol('product_description')]} (copy ${k})`;
      r[0] = String(outP.length - 1);
      outP.push(r);
    }
    for (const row of iRows) {
      const r = [...row];
      r[iCol('id')] = `${row[iCol('id')]}-c${k}`;
      r[iCol('product_id')] = `${row[iCol('product_id')]}-c${k}`;
      r[0] = String(outI.length - 1);
      outI.push(r);
    }
  }
  const productsPath = path.join(dir, 'Products.csv');
  const imagesPath = path.join(dir, 'Images.csv');
  await writeFile(productsPath, stringify(outP));
  await writeFile(imagesPath, stringify(outI));
  return { productsPath, imagesPath, imageDir: fbm.imageDir };
}

/** One mode, in this process: the child side of the bench. Samples the live heap only when GC is exposed. */
async function runMode(mode: 'load' | 'stream', paths: Paths): Promise<Measured> {
  const gc = globalThis.gc;
  const started = Date.now();
  let peakLive = 0;
  const live = () => {
    if (!gc) return;
    gc();
    peakLive = Math.max(peakLive, process.memoryUsage().heapUsed);
  };
  let listings = 0;
  let photos = 0;
  if (mode === 'load') {
    // The backfill before streaming: the whole catalogue, then the whole submit work built from it.
    const catalogue = await loadCatalogue(paths);
    const work = catalogue.listings.map((listing) => ({
      listing,
      photos: listing.imageIds.flatMap((id) => (catalogue.images.get(id)?.listingId === listing.id ? [{ imageId: id, source: catalogue.images.get(id)!.path }] : [])),
    }));
    live();
    listings = work.length;
    photos = work.reduce((n, w) => n + w.photos.length, 0);
  } else {
    const reader = await CatalogueReader.open(paths);
    for await (const piece of catalogueWork(reader)) {
      listings += piece.process.length;
      photos += piece.process.reduce((n, w) => n + w.photos.length, 0);
      live();
    }
    reader.tail();
    live();
  }
  return {
    mode,
    listings,
    photos,
    seconds: (Date.now() - started) / 1000,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    peakLiveHeapMiB: peakLive / MiB,
  };
}

const self = fileURLToPath(import.meta.url);
const [, , childMode, childPaths] = process.argv;
if (childMode === 'load' || childMode === 'stream') {
  console.log(JSON.stringify(await runMode(childMode, JSON.parse(childPaths!) as Paths)));
} else {
  const fbm = requireSample('bench:catalogue');
  const copies = Number(process.env.BENCH_COPIES ?? 20);
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-catalogue-'));
  try {
    const paths = await writeScaledCatalogue(
      { productsPath: path.join(fbm, 'Products.csv'), imagesPath: path.join(fbm, 'Images.csv'), imageDir: path.join(fbm, 'images') },
      dir,
      copies,
    );
    const spawnMode = (mode: 'load' | 'stream', nodeArgs: string[]) =>
      spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', self, mode, JSON.stringify(paths)], { encoding: 'utf8', maxBuffer: 16 * MiB });
    const child = (mode: 'load' | 'stream', sampleHeap: boolean): Measured => {
      const run = spawnMode(mode, sampleHeap ? ['--expose-gc'] : []);
      if (run.status !== 0) throw new Error(`The ${mode} run failed:\n${run.stderr}`);
      return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Measured;
    };
    const heapCapMiB = Number(process.env.BENCH_HEAP_MIB ?? 200);
    const underCap = (mode: 'load' | 'stream'): string => {
      const run = spawnMode(mode, [`--max-old-space-size=${heapCapMiB}`]);
      if (run.status === 0) return 'completes';
      return /heap out of memory/i.test(run.stderr) ? 'out of memory' : `failed (exit ${run.status}): ${run.stderr.trim().split('\n').at(-1)}`;
    };
    const measure = (mode: 'load' | 'stream'): Measured => {
      const timed = child(mode, false);
      return { ...timed, peakLiveHeapMiB: child(mode, true).peakLiveHeapMiB };
    };
    const load = measure('load');
    const stream = measure('stream');
    if (load.listings !== stream.listings || load.photos !== stream.photos) {
      throw new Error(`The two reads disagree: ${load.listings}/${load.photos} vs ${stream.listings}/${stream.photos} listings/photos.`);
    }
    const round = (x: number) => Math.round(x * 10) / 10;
    console.log(JSON.stringify({
      copies,
      listings: load.listings,
      photos: load.photos,
      load: { maxRssMiB: round(load.maxRssMiB), peakLiveHeapMiB: round(load.peakLiveHeapMiB), seconds: round(load.seconds) },
      stream: { maxRssMiB: round(stream.maxRssMiB), peakLiveHeapMiB: round(stream.peakLiveHeapMiB), seconds: round(stream.seconds) },
      ratios: {
        maxRss: round(load.maxRssMiB / stream.maxRssMiB),
        peakLiveHeap: round(load.peakLiveHeapMiB / stream.peakLiveHeapMiB),
        elapsed: Math.round((stream.seconds / load.seconds) * 100) / 100,
      },
      [`withHeapCappedAt${heapCapMiB}MiB`]: { load: underCap('load'), stream: underCap('stream') },
      liveHeapKiBPerListing: { load: round((load.peakLiveHeapMiB * 1024) / load.listings), stream: round((stream.peakLiveHeapMiB * 1024) / stream.listings) },
    }, null, 2));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
