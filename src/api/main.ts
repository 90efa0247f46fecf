// The API process entry point (`npm run api`): parse the configuration once and start the server;
// start-api.ts owns the composition and the shutdown order.
import { loadConfig } from '../config.js';
import { startApi } from './start-api.js';

try {
  await startApi(loadConfig());
} catch (err) {
  process.stderr.write(`The API could not start: ${(err as Error).message}\n`);
  process.exit(1);
}
