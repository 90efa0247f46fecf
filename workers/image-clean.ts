// Entry point of the image-clean pool: one process, one BullMQ worker; see src/pipeline/start-pool.ts.
import { loadConfig } from '../src/config.js';
import { startPool } from '../src/pipeline/start-pool.js';

await startPool('image-clean', loadConfig());
