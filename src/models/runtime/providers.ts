// Which execution provider each loaded model really runs on. Kept in one place, with no imports, so the
// metrics module can read it at scrape time (listing_pipeline_model_sessions, src/metrics/collectors.ts)
// without loading onnxruntime.
//
// How a GPU machine gets the CUDA provider (onnxruntime-node 1.30, Linux x64 only): the CUDA EP
// libraries (libonnxruntime_providers_{cuda,shared,tensorrt}.so) are not in the npm tarball; the
// package's postinstall script (node_modules/onnxruntime-node/script/install.js) downloads them from
// the Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0 NuGet package into bin/napi-v6/linux/x64/. On
// linux/x64 it does so by default unless told `skip`; to force it explicitly run
//   ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci          (or: npm ci --onnxruntime-node-install=cuda12)
// or, in an existing checkout, `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`.
// This machine installed with ONNXRUNTIME_NODE_INSTALL=skip, so those files are absent and a CUDA
// session fails with "Failed to load shared library". The host additionally needs an NVIDIA driver and
// the CUDA 12 runtime + cuDNN 9 libraries on the loader path (CUDA 11 is unsupported since ORT 1.22);
// the nvidia/cuda:12.x-cudnn-runtime images provide them. Then set ORT_PROVIDERS=cuda,cpu.

export type ExecutionProvider = 'cuda' | 'cpu';

export interface ProviderRecord {
  /** Model label (manifest version or file name). */
  model: string;
  /** The provider the sessions of this model run on. */
  provider: ExecutionProvider;
  /** What the configuration asked for, in order. */
  requested: ExecutionProvider[];
  /** Why an earlier provider was skipped; null when the first choice worked. */
  fallbackReason: string | null;
  /** Open sessions of this model in this process. */
  sessions: number;
}

const records = new Map<string, ProviderRecord>();

/** Snapshot of the providers in use in this process, one record per model label. */
export function providerInfo(): ProviderRecord[] {
  return [...records.values()].map((r) => ({ ...r, requested: [...r.requested] }));
}

/** Called by session factories when a session opens; returns the matching release function. */
export function recordProvider(
  model: string,
  provider: ExecutionProvider,
  requested: ExecutionProvider[],
  fallbackReason: string | null,
): () => void {
  const prev = records.get(model);
  records.set(model, {
    model,
    provider,
    requested: [...requested],
    fallbackReason,
    sessions: (prev?.sessions ?? 0) + 1,
  });
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const cur = records.get(model);
    if (!cur) return;
    if (cur.sessions <= 1) records.delete(model);
    else records.set(model, { ...cur, sessions: cur.sessions - 1 });
  };
}

/** A shorter, single-line reason for logs and the metric label. */
export function shortReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.slice(0, 300);
}
