// The backfill's live progress bar (cli-progress, on stderr so --json output stays clean).
import cliProgress from 'cli-progress';
import type { BackfillProgress } from '../pipeline/backfill.js';

export interface ProgressView {
  update(p: BackfillProgress): void;
  stop(): void;
}

/** `stream` is stderr but for tests. A run with nothing to do (every listing unchanged) shows no bar. */
export function backfillProgressBar(enabled: boolean, stream: NodeJS.WritableStream = process.stderr): ProgressView {
  if (!enabled) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format:
        '{bar} {percentage}% | listings {done}/{total} (failed {lfailed}) | photos {idone}/{itotal} (failed {ifailed}) | {rate}/s | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 50,
      noTTYOutput: true,
      notTTYSchedule: 5000,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const done = p.listings.processed + p.listings.failed;
      const payload = {
        done,
        total: p.totalListings,
        lfailed: p.listings.failed,
        idone: p.images.cleaned + p.images.failed,
        itotal: p.totalImages,
        ifailed: p.images.failed,
        rate: p.elapsedSeconds > 0 ? (done / p.elapsedSeconds).toFixed(1) : '0',
      };
      if (!started) {
        if (p.totalListings === 0) return;
        bar.start(Math.max(1, p.totalListings), done, payload);
        started = true;
      } else {
        bar.update(done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
