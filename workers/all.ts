// `npm run workers`: every pool on this machine, one process each, in the foreground. SIGTERM/SIGINT
// is forwarded to each pool, which drains its in-flight jobs; this process exits when all have.
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logging.js';
import { startAllPools, stopPools } from '../src/pipeline/supervisor.js';

const log = createLogger(loadConfig(), 'workers');
const pools = startAllPools({ stdio: 'inherit' });
log.info({ pools: pools.map((p) => ({ name: p.name, pid: p.child.pid })) }, 'started every pool');

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping every pool');
  void stopPools(pools, signal).then((codes) => process.exit(codes.every((c) => c === 0) ? 0 : 1));
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

// If one pool dies on its own, stop the rest: a half-running pipeline only piles up work.
for (const p of pools) {
  void p.exited.then((code) => {
    if (stopping) return;
    log.error({ pool: p.name, code }, 'a pool exited unexpectedly; stopping the others');
    stop('SIGTERM');
  });
}
