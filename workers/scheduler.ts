// Entry point of the scheduler: the nightly backfill's job scheduler and worker; see
// src/pipeline/start-scheduler.ts.
import { loadConfig } from '../src/config.js';
import { startScheduler } from '../src/pipeline/start-scheduler.js';

await startScheduler(loadConfig());
