// Structured logs (pino, JSON lines on stderr) so log shippers can parse them; stdout stays free for
// command output such as the backfill's --json summary.
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, name: string): Logger {
  return pino({ name, level: config.LOG_LEVEL }, pino.destination(2));
}
