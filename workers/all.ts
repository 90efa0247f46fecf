// `npm run workers`: every pool on this machine, one process each, in the foreground. SIGTERM/SIGINT
// is forwarded to each pool, which drains its in-flight jobs; this process exits when all have.
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logging.js';
import { startAllPools, stopPools } from '../src/pipeline/supervisor.js';

const log = createLogger(loadConfig(), 'workers');
const pools = startAllPools({ stdio: 'inherit' });
log.info({ pools: pools.map((p) => ({ name: p.name, pid: p.child.pid })) }, 'started every pool');

// One Ctrl-C can arrive here more than once: the terminal signals npm, tsx and this process, and npm and
// tsx may forward it again. Such repeats come within milliseconds; a signal a second or more after the
// first is a deliberate second Ctrl-C, passed on so each pool exits at once (lifecycle.ts; its
// unfinished jobs rerun once their locks lapse).
const REPEAT_MS = 1000;
let stoppingSince: number | null = null;
const stop = (signal: NodeJS.Signals) => {
  if (stoppingSince !== null) {
    if (Date.now() - stoppingSince < REPEAT_MS) return;
    log.warn({ signal }, 'second signal: stopping every pool at once');
    for (const p of pools) if (p.child.exitCode === null) p.child.kill(signal);
    return;
  }
  stoppingSince = Date.now();
  log.info({ signal }, 'stopping every pool');
  void stopPools(pools, signal).then((codes) => process.exit(codes.every((c) => c === 0) ? 0 : 1));
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

// If one pool dies on its own, stop the rest: a half-running pipeline only piles up work.
for (const p of pools) {
  void p.exited.then((code) => {
    if (stoppingSince !== null) return;
    log.error({ pool: p.name, code }, 'a pool exited unexpectedly; stopping the others');
    stop('SIGTERM');
  });
}
