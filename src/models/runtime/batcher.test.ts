import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBatcher } from './batcher.js';

// A fake clock makes "dispatched after maxDelay, not before and not much later" exact instead of timed.
afterEach(() => {
  vi.useRealTimers();
});

/** run() that records batch sizes and doubles each item. */
function recorder(delayMs = 0) {
  const sizes: number[] = [];
  const run = async (items: number[]) => {
    sizes.push(items.length);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    return items.map((x) => x * 2);
  };
  return { sizes, run };
}

describe('createBatcher', () => {
  it('forms full batches under load: 100 items with maxBatchSize 32 run as 32, 32, 32, 4', async () => {
    vi.useFakeTimers();
    const { sizes, run } = recorder();
    const onBatch = vi.fn();
    const b = createBatcher({ maxBatchSize: 32, maxDelayMs: 50, run, onBatch });
    const results = Promise.all(Array.from({ length: 100 }, (_, i) => b.submit(i)));
    await vi.advanceTimersByTimeAsync(50);
    expect(await results).toEqual(Array.from({ length: 100 }, (_, i) => i * 2));
    expect(sizes).toEqual([32, 32, 32, 4]);
    expect(onBatch.mock.calls.map((c) => c[0])).toEqual([32, 32, 32, 4]);
    await b.close();
  });

  it('dispatches a lone item after maxDelayMs with batch size 1, without waiting for the batch to fill', async () => {
    vi.useFakeTimers();
    const { sizes, run } = recorder();
    const b = createBatcher({ maxBatchSize: 64, maxDelayMs: 20, run });
    let done = false;
    const p = b.submit(7).then((v) => {
      done = true;
      return v;
    });
    await vi.advanceTimersByTimeAsync(19);
    expect(done).toBe(false);
    expect(sizes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await p).toBe(14);
    expect(sizes).toEqual([1]);
    await b.close();
  });

  it('dispatches as soon as a batch is full, before the timer fires', async () => {
    vi.useFakeTimers();
    const { sizes, run } = recorder();
    const b = createBatcher({ maxBatchSize: 4, maxDelayMs: 10_000, run });
    const all = Promise.all([1, 2, 3, 4].map((x) => b.submit(x)));
    await vi.advanceTimersByTimeAsync(0);
    expect(await all).toEqual([2, 4, 6, 8]);
    expect(sizes).toEqual([4]);
    await b.close();
  });

  it('keeps one batch in flight; items arriving meanwhile form the next batch', async () => {
    vi.useFakeTimers();
    let active = 0;
    let maxActive = 0;
    const sizes: number[] = [];
    const b = createBatcher<number, number>({
      maxBatchSize: 8,
      maxDelayMs: 5,
      run: async (items) => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        sizes.push(items.length);
        await new Promise((r) => setTimeout(r, 100));
        active -= 1;
        return items;
      },
    });
    const first = b.submit(0);
    await vi.advanceTimersByTimeAsync(5); // first batch (size 1) leaves and runs for 100 ms
    const rest = Array.from({ length: 6 }, (_, i) => b.submit(i + 1));
    await vi.advanceTimersByTimeAsync(300);
    await Promise.all([first, ...rest]);
    expect(maxActive).toBe(1);
    expect(sizes).toEqual([1, 6]);
    await b.close();
  });

  it('rejects every item of a failing batch and only that batch', async () => {
    vi.useFakeTimers();
    const b = createBatcher<number, number>({
      maxBatchSize: 2,
      maxDelayMs: 5,
      run: async (items) => {
        if (items.includes(3)) throw new Error('model exploded');
        return items.map((x) => x + 100);
      },
    });
    const ps = [1, 2, 3, 4, 5, 6].map((x) => b.submit(x).then((v) => ({ ok: v }), (e: Error) => ({ err: e.message })));
    await vi.advanceTimersByTimeAsync(10);
    expect(await Promise.all(ps)).toEqual([{ ok: 101 }, { ok: 102 }, { err: 'model exploded' }, { err: 'model exploded' }, { ok: 105 }, { ok: 106 }]);
    await b.close();
  });

  it('rejects a batch whose runner returns the wrong number of results, naming the counts', async () => {
    vi.useFakeTimers();
    const b = createBatcher<number, number>({ maxBatchSize: 3, maxDelayMs: 5, run: async () => [1] });
    const settled = Promise.allSettled([1, 2, 3].map((x) => b.submit(x)));
    await vi.advanceTimersByTimeAsync(0);
    const results = await settled;
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/returned 1 results for 3 items/);
    await b.close();
  });

  it('with maxDelayMs 0 never waits: the first item leaves alone, the rest queue behind it', async () => {
    const { sizes, run } = recorder();
    const b = createBatcher({ maxBatchSize: 10, maxDelayMs: 0, run });
    expect(await Promise.all([1, 2, 3].map((x) => b.submit(x)))).toEqual([2, 4, 6]);
    expect(sizes).toEqual([1, 2]);
    await b.close();
  });

  it('close() flushes waiting items at once and refuses new ones', async () => {
    vi.useFakeTimers();
    const { sizes, run } = recorder();
    const b = createBatcher({ maxBatchSize: 10, maxDelayMs: 60_000, run });
    const ps = [1, 2, 3].map((x) => b.submit(x));
    const closed = b.close();
    await vi.advanceTimersByTimeAsync(0);
    await closed;
    expect(await Promise.all(ps)).toEqual([2, 4, 6]);
    expect(sizes).toEqual([3]);
    await expect(b.submit(9)).rejects.toThrow(/closed/);
  });

  it('rejects invalid sizes with a message naming the setting', () => {
    expect(() => createBatcher({ maxBatchSize: 0, maxDelayMs: 1, run: async (x: number[]) => x })).toThrow(/INFER_MAX_BATCH/);
  });
});
