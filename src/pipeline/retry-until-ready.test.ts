import { describe, expect, it } from 'vitest';
import { retryUntilReady } from './retry-until-ready.js';

describe('retryUntilReady', () => {
  it('shares one attempt, forgets a failed one and then keeps the success', async () => {
    let calls = 0;
    const init = retryUntilReady(async () => {
      calls += 1;
      if (calls === 1) throw new Error('Postgres is not up yet');
      return { n: calls };
    });
    const [a, b] = await Promise.allSettled([init(), init()]);
    expect(a.status).toBe('rejected');
    expect(b.status).toBe('rejected');
    expect(calls).toBe(1);
    expect(await init()).toEqual({ n: 2 });
    expect(await init()).toEqual({ n: 2 });
    expect(calls).toBe(2);
  });
});
