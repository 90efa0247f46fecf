// Process lifecycle for entry points: on SIGTERM/SIGINT close each part in order (stop taking work,
// drain in-flight jobs, then close servers and connections) within a deadline. A second signal or the
// deadline exits at once: BullMQ's stalled-job recovery then re-runs whatever was cut short.
import type { Logger } from './logging.js';

export interface ClosePart {
  name: string;
  close: () => Promise<void>;
}

export interface Shutdown {
  /** Resolves when shutdown has finished (for callers that want to await it in tests). */
  done: Promise<void>;
  /** Starts the shutdown as a signal would (a second call, like a second signal, exits at once). */
  trigger: (reason: string) => void;
  /** Starts the shutdown unless it has started: for events that repeat what a signal already said. */
  request: (reason: string) => void;
}

export function installShutdown(log: Logger, timeoutMs: number, parts: ClosePart[], exit = true): Shutdown {
  let started = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const run = async (reason: string) => {
    log.info({ reason, timeoutMs }, 'shutting down: draining in-flight work');
    const deadline = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown deadline passed; exiting with work still in flight (it will be retried)');
      if (exit) process.exit(1);
    }, timeoutMs);
    deadline.unref();
    let failed = false;
    for (const part of parts) {
      try {
        await part.close();
        log.debug({ part: part.name }, 'closed');
      } catch (err) {
        failed = true;
        log.error({ part: part.name, err }, 'closing failed');
      }
    }
    clearTimeout(deadline);
    log.info('shutdown complete');
    // A component shut down in a process that lives on (exit = false: tests, an embedding host) must not
    // take that process's later signals as a "second signal" for itself.
    process.off('SIGTERM', onSigterm);
    process.off('SIGINT', onSigint);
    resolveDone();
    if (exit) process.exit(failed ? 1 : 0);
  };

  const trigger = (reason: string) => {
    if (started) {
      log.warn({ reason }, 'second signal: exiting immediately');
      if (exit) process.exit(130);
      return;
    }
    started = true;
    void run(reason);
  };
  const onSigterm = () => trigger('SIGTERM');
  const onSigint = () => trigger('SIGINT');
  process.on('SIGTERM', onSigterm);
  process.on('SIGINT', onSigint);
  const request = (reason: string) => {
    if (!started) trigger(reason);
  };
  return { done, trigger, request };
}
