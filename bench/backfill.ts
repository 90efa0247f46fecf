// Backfill throughput on this machine: a fresh schema and queue prefix, the three pools as real
// processes, one backfill of the catalogue (default ../shared/data/fbm; BENCH_LIMIT to cut it short),
// then the same command again to show a rerun does no new work. Prints listings/s and photos/s.
//   npm run bench            (whole sample)     BENCH_LIMIT=1000 npm run bench
// The pools run whatever models are current in MODELS_DIR (default models/): with none, the flow only
// cleans photos and records listings; MODELS_DIR=$(mktemp -d) npm run bench measures that part alone.
import { createTestPipeline } from '../test/support/pipeline.js';
import { requireSample } from './sample.js';

const fbm = requireSample('bench');
const limit = process.env.BENCH_LIMIT ? ['--limit', process.env.BENCH_LIMIT] : [];
const t = await createTestPipeline({ LOG_LEVEL: 'error' });
try {
  t.startPools();
  const first = await t.cli<Record<string, unknown>>(['backfill', '--catalogue', fbm, ...limit]);
  const second = await t.cli<Record<string, unknown>>(['backfill', '--catalogue', fbm, ...limit]);
  const pick = (s: Record<string, unknown>) => ({
    newWork: s.newWork,
    outcome: s.outcome,
    elapsedSeconds: s.elapsedSeconds,
    listingsPerSecond: Number(s.listingsPerSecond).toFixed(1),
    photosPerSecond: Number(s.photosPerSecond).toFixed(1),
  });
  console.log(JSON.stringify({ machine: `${(await import('node:os')).cpus().length} cores`, first: pick(first), rerun: pick(second) }, null, 2));
} finally {
  await t.close();
}
