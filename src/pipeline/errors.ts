// Error classes shared by the pipeline stages. "Permanent" means retrying cannot help (bad input);
// the queue layer turns such errors into BullMQ's UnrecoverableError so no attempts are wasted.

export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
  constructor(
    message: string,
    /** A short, bounded reason class for metrics and summaries (never free text). */
    readonly code: string,
  ) {
    super(message);
  }
}

const PERMANENT_NAMES = new Set(['PermanentJobError', 'ImageRejectedError', 'PayloadError', 'UnrecoverableError']);

export function isPermanent(err: unknown): boolean {
  return err instanceof Error && PERMANENT_NAMES.has(err.name);
}

/** A bounded reason class for an error: its `code` when it has one, else permanent/transient. */
export function reasonCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[a-z_]{1,40}$/.test(code)) return code;
  return isPermanent(err) ? 'bad_input' : 'transient';
}

/** Where a job stands in its retry budget; the last attempt records the failure for good. */
export interface AttemptInfo {
  attemptsMade: number;
  maxAttempts: number;
}

export function isFinalAttempt(err: unknown, attempt: AttemptInfo): boolean {
  return isPermanent(err) || attempt.attemptsMade + 1 >= attempt.maxAttempts;
}
