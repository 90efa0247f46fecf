// A tiny onnxruntime helper for the offline encoders; the lead will swap it for the runtime module's
// session/provider code. It is the only place here that imports onnxruntime-node.
import * as ort from 'onnxruntime-node';

export type Feeds = Record<string, { type: 'float32' | 'int64'; data: Float32Array | BigInt64Array; dims: number[] }>;

export class LocalSession {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async open(pathOrBytes: string | Uint8Array): Promise<LocalSession> {
    const s = typeof pathOrBytes === 'string'
      ? await ort.InferenceSession.create(pathOrBytes)
      : await ort.InferenceSession.create(pathOrBytes);
    return new LocalSession(s);
  }

  /** Runs the graph and returns one output as a flat Float32Array plus its dims. */
  async run(feeds: Feeds, output: string): Promise<{ data: Float32Array; dims: number[] }> {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) inputs[name] = new ort.Tensor(f.type, f.data, f.dims);
    const out = await this.session.run(inputs);
    const t = out[output];
    if (!t) throw new Error(`The ONNX model has no output "${output}"; check the manifest entry against the file.`);
    return { data: t.data as Float32Array, dims: [...t.dims] };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** Splits a flat [n, d] buffer into n row copies. */
export function rows(data: Float32Array, n: number): Float32Array[] {
  const d = n === 0 ? 0 : data.length / n;
  return Array.from({ length: n }, (_, i) => data.slice(i * d, (i + 1) * d));
}
