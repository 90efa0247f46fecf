// One error class for everything that can go wrong between the manifest and a running model, so
// callers (CLI, workers, health checks) can branch on `code` and show `message` to an operator as is.

export type ModelErrorCode =
  | 'manifest-missing'
  | 'manifest-invalid'
  | 'manifest-locked'
  | 'unknown-role'
  | 'unknown-version'
  | 'no-current-model'
  | 'file-missing'
  | 'file-invalid'
  | 'io-mismatch'
  | 'download-failed'
  | 'provider-unavailable'
  | 'model-folder-invalid';

export class ModelError extends Error {
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModelError';
  }
}

/** Minimal structural logger; a pino logger satisfies it. */
export interface ModelLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** For callers that do not care about model logs (tests, one-off scripts). */
export const silentLogger: ModelLogger = { info: () => {}, warn: () => {} };
