import { describe, expect, it } from 'vitest';
import { installShutdown } from './lifecycle.js';
import { createLogger } from './logging.js';

describe('installShutdown without exiting (a component in a process that lives on)', () => {
  it('closes its parts in order once, and stops listening for signals when done', async () => {
    const before = { term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') };
    const closed: string[] = [];
    const shutdown = installShutdown(createLogger({ LOG_LEVEL: 'silent' }, 'test'), 5_000, [
      { name: 'a', close: async () => void closed.push('a') },
      { name: 'b', close: async () => void closed.push('b') },
    ], false);
    expect(process.listenerCount('SIGTERM')).toBe(before.term + 1);
    shutdown.trigger('test');
    await shutdown.done;
    expect(closed).toEqual(['a', 'b']);
    // Still listening, a later SIGTERM to this process would be logged as its "second signal".
    expect(process.listenerCount('SIGTERM')).toBe(before.term);
    expect(process.listenerCount('SIGINT')).toBe(before.int);
  });
});
