// The image-clean pool's sandboxed processor: BullMQ forks a child process per concurrent job slot
// and runs this file there, so decoding and resizing never stall the parent's event loop, which must
// keep renewing job locks. Each child owns a small Postgres pool and its own image encoder session.
import { loadConfig } from '../config.js';
import { createDb } from '../db/pool.js';
import { configureSharp } from '../images/index.js';
import { createLogger } from '../logging.js';
import { createMetrics } from '../metrics/registry.js';
import { toProcessor } from '../queues/pool-worker.js';
import { runImageClean } from './image-clean-stage.js';
import { loadPoolModels } from './load-models.js';
import { retryUntilReady } from './retry-until-ready.js';

// A failed setup is not cached: the next job in this reused child tries again (retry-until-ready.ts).
const init = retryUntilReady(async () => {
  const config = loadConfig();
  // Each photo is seen once, so libvips' operation cache only costs memory.
  configureSharp({ cache: false });
  const log = createLogger(config, 'image-clean-child');
  const db = createDb({ ...config, DB_POOL_MAX: 2 }, { applicationName: 'image-clean-child' });
  try {
    // Metrics recorded in the child would be invisible to /metrics: the parent records them from each
    // job's result (its `encoder` field) and job events.
    const models = await loadPoolModels('image-clean', config, createMetrics('image-clean-child'), log);
    process.once('exit', () => void db.close());
    return { db, models, config };
  } catch (err) {
    // The next attempt opens its own pool; do not leave this one behind.
    await db.close().catch(() => undefined);
    throw err;
  }
});

// The pool forks this child over an IPC channel. If the pool dies without closing it (SIGKILL, the OOM
// killer), the channel closes: leave with it. Orphaned children were seen living on after a SIGKILLed
// pool, holding sessions and connections and spinning a core each (test/worker-kill.test.ts checks this).
process.once('disconnect', () => process.exit(0));

export default toProcessor(async (data, attempt) => {
  const { db, models, config } = await init();
  return runImageClean({ db, config, embedder: models.imageEmbedder }, data, attempt);
});
