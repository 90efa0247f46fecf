// Sessions for the offline encoders. Served models open through the runtime module
// (openModelSession: sha256 + input/output checks, provider fallback); `bytesSession` opens an
// in-memory graph, which has no manifest entry to verify against: the graphs `setup` fits with
// (k-means assignment, the probe's gradient, feature encoding) and test graphs.
import { createInMemorySession, Tensor, type Feeds, type Fetches } from '../runtime/session.js';

/** The part of a runtime ModelSession the encoders use. */
export interface Runner {
  run(feeds: Feeds): Promise<Fetches>;
  close(): Promise<void>;
  /** The execution provider a verified session runs on (absent for in-memory test graphs: CPU). */
  readonly provider?: string;
}

export function bytesSession(bytes: Uint8Array, intraOpThreads?: number): Promise<Runner> {
  return createInMemorySession(bytes, intraOpThreads);
}

export type PlainFeeds = Record<string, { type: 'float32' | 'int64'; data: Float32Array | BigInt64Array; dims: number[] }>;

/** Runs the graph on plain typed arrays and returns one output as a flat Float32Array plus its dims. */
export async function runOutput(r: Runner, feeds: PlainFeeds, output: string): Promise<{ data: Float32Array; dims: number[] }> {
  const inputs: Feeds = {};
  for (const [name, f] of Object.entries(feeds)) inputs[name] = new Tensor(f.type, f.data, f.dims);
  const out = await r.run(inputs);
  const t = out[output];
  if (!t) throw new Error(`The ONNX model has no output "${output}"; check the manifest entry against the file.`);
  return { data: t.data as Float32Array, dims: [...t.dims] };
}

/** Splits a flat [n, d] buffer into n row copies. */
export function rows(data: Float32Array, n: number): Float32Array[] {
  const d = n === 0 ? 0 : data.length / n;
  return Array.from({ length: n }, (_, i) => data.slice(i * d, (i + 1) * d));
}
