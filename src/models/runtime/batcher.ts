// A dynamic micro-batcher in the style of Triton's dynamic batcher. Callers submit single items; the
// batcher groups them so the model runs on batches: the oldest waiting item starts a maxDelayMs timer,
// and a batch leaves when it reaches maxBatchSize or that timer fires. Only one batch is in flight per
// batcher (a session already uses every core; two concurrent runs would just contend), so items that
// arrive meanwhile queue up and form the next, usually full, batch.

export interface BatcherOptions<I, O> {
  maxBatchSize: number;
  /** How long the oldest waiting item may wait for company before its batch leaves anyway. */
  maxDelayMs: number;
  /** Runs one batch; must return exactly one output per item, in order. */
  run: (items: I[]) => Promise<O[]>;
  /** Called after every batch with its size, its run time and, when it failed, the error. Must not throw. */
  onBatch?: (size: number, seconds: number, error?: unknown) => void;
}

export interface Batcher<I, O> {
  submit(item: I): Promise<O>;
  /** Stops accepting items, dispatches everything waiting without delay and resolves when all ran. */
  close(): Promise<void>;
  /** Items waiting (not yet dispatched). */
  readonly pending: number;
}

interface Waiting<I, O> {
  item: I;
  enqueuedAt: number;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export function createBatcher<I, O>(options: BatcherOptions<I, O>): Batcher<I, O> {
  const { maxBatchSize, maxDelayMs, run, onBatch } = options;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
    throw new RangeError(`maxBatchSize must be a positive integer (got ${maxBatchSize}); check INFER_MAX_BATCH.`);
  }
  if (!(maxDelayMs >= 0)) throw new RangeError(`maxDelayMs must be zero or more (got ${maxDelayMs}); check INFER_MAX_DELAY_MS.`);

  const queue: Waiting<I, O>[] = [];
  let timer: NodeJS.Timeout | null = null;
  let due = false; // the oldest waiting item has waited maxDelayMs
  let inFlight: Promise<void> | null = null;
  let closing = false;
  const drainWaiters: (() => void)[] = [];

  function armTimer(): void {
    if (timer || due || queue.length === 0) return;
    const wait = queue[0]!.enqueuedAt + maxDelayMs - Date.now();
    if (wait <= 0) {
      due = true;
      return;
    }
    timer = setTimeout(() => {
      timer = null;
      due = true;
      pump();
    }, wait);
  }

  function pump(): void {
    if (inFlight) return;
    if (queue.length === 0) {
      if (closing) for (const done of drainWaiters.splice(0)) done();
      return;
    }
    if (queue.length < maxBatchSize && !due && !closing) {
      armTimer();
      if (!due) return;
    }
    const batch = queue.splice(0, maxBatchSize);
    if (timer) clearTimeout(timer);
    timer = null;
    due = false;
    inFlight = execute(batch).finally(() => {
      inFlight = null;
      armTimer(); // the next oldest item may already have waited long enough
      pump();
    });
  }

  async function execute(batch: Waiting<I, O>[]): Promise<void> {
    const started = performance.now();
    let outputs: O[] = [];
    let failed = false;
    let error: unknown;
    try {
      outputs = await run(batch.map((w) => w.item));
      if (!Array.isArray(outputs) || outputs.length !== batch.length) {
        throw new Error(
          `The batch runner returned ${Array.isArray(outputs) ? outputs.length : typeof outputs} results for ${batch.length} items; it must return one result per item, in order.`,
        );
      }
    } catch (err) {
      failed = true;
      error = err;
    }
    try {
      onBatch?.(batch.length, (performance.now() - started) / 1000, failed ? error : undefined);
    } catch (err) {
      // A broken metrics callback must surface somewhere a caller sees it: fail this batch.
      if (!failed) {
        failed = true;
        error = err;
      }
    }
    if (failed) for (const w of batch) w.reject(error);
    else batch.forEach((w, i) => w.resolve(outputs[i]!));
  }

  return {
    submit(item: I): Promise<O> {
      if (closing) {
        return Promise.reject(new Error('The batcher is closed and accepts no more items; this happens during shutdown, so retry the job on another worker.'));
      }
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, enqueuedAt: Date.now(), resolve, reject });
        pump();
      });
    },
    close(): Promise<void> {
      closing = true;
      if (timer) clearTimeout(timer);
      timer = null;
      return new Promise<void>((resolve) => {
        drainWaiters.push(resolve);
        pump();
      });
    },
    get pending() {
      return queue.length;
    },
  };
}
