// Lazy one-time setup that survives a failed attempt. A sandboxed image-clean child is reused for many
// jobs; caching a rejected setup promise (Postgres not up yet, a model file mid-copy) would fail every
// later job in that child with the same stale error. Here a failure is forgotten, so the next call
// tries again, while concurrent callers still share one attempt in flight.

export function retryUntilReady<T>(setup: () => Promise<T>): () => Promise<T> {
  let ready: Promise<T> | null = null;
  return () => {
    ready ??= setup().catch((err: unknown) => {
      ready = null;
      throw err;
    });
    return ready;
  };
}
