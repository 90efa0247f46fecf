// A command waiting for the pools (backfill, classify) says so when nothing can progress because no
// pool is running: without it, a forgotten `npm run workers` looked like a hang at 0 %.
import type { QueueAdmin } from './queue-admin.js';

/** How many polls without progress before the queues' workers are looked at. */
const QUIET_POLLS = 20;

/**
 * Call once per poll with the progress count; warns once (through `warn`) when progress has stalled
 * for QUIET_POLLS polls and some queue with ready jobs has no worker connected.
 */
export function noWorkerWatch(admin: Pick<QueueAdmin, 'queuesWithoutWorkers'>, warn: (message: string) => void): (done: number) => Promise<void> {
  let last = -1;
  let quiet = 0;
  let warned = false;
  return async (done) => {
    if (warned) return;
    quiet = done === last ? quiet + 1 : 0;
    last = done;
    if (quiet < QUIET_POLLS) return;
    quiet = 0;
    const idle = await admin.queuesWithoutWorkers();
    if (idle.length === 0) return;
    warned = true;
    warn(`No worker is connected to the ${idle.join(', ')} queue(s), so nothing is progressing; start the pools (\`npm run workers\`) and this command carries on. Still waiting.`);
  };
}
