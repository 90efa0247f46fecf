// The onnxruntime-node adapter: one place that creates inference sessions, picks the execution provider
// and reports it. Providers are tried in the configured order; CUDA failing to initialise (no provider
// library, no driver, no device) falls back to the next one and the reason is logged and recorded.
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { TensorSpec } from '../manifest-types.js';
import { ModelError, type ModelLogger } from '../registry/errors.js';
import { recordProvider, shortReason, type ExecutionProvider } from './providers.js';

export { Tensor };
export type OrtSession = InferenceSession;
export type Feeds = Record<string, Tensor>;
export type Fetches = Record<string, Tensor>;

export interface SessionOptions {
  /** Preference order, e.g. ['cuda', 'cpu'] (config ORT_PROVIDERS). */
  providers: ExecutionProvider[];
  /** Threads for one operator; default lets onnxruntime use every core. Set it when several pools share a host. */
  intraOpThreads?: number;
  logger: ModelLogger;
  /** Label for logs and providerInfo(); defaults to the file name. */
  label?: string;
}

export interface ModelSession {
  session: InferenceSession;
  provider: ExecutionProvider;
  label: string;
  run(feeds: Feeds): Promise<Fetches>;
  close(): Promise<void>;
}

function ortOptions(provider: ExecutionProvider, intraOpThreads?: number): InferenceSession.SessionOptions {
  return {
    executionProviders: provider === 'cuda' ? [{ name: 'cuda', deviceId: 0 }] : ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    ...(intraOpThreads !== undefined ? { intraOpNumThreads: intraOpThreads } : {}),
  };
}

const CUDA_HINT =
  'To use the GPU, install the CUDA provider with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci` on a host with the NVIDIA driver, ' +
  'CUDA 12 and cuDNN 9 (see src/models/runtime/providers.ts); to run on the CPU instead, set ORT_PROVIDERS=cpu';

export async function createSession(modelPath: string, options: SessionOptions): Promise<ModelSession> {
  const label = options.label ?? path.basename(modelPath);
  const providers = [...new Set(options.providers)];
  if (providers.length === 0) {
    throw new ModelError('provider-unavailable', `No execution provider was configured for ${label}; set ORT_PROVIDERS (e.g. "cuda,cpu" or "cpu").`);
  }
  const failures: string[] = [];
  for (const provider of providers) {
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(modelPath, ortOptions(provider, options.intraOpThreads));
    } catch (err) {
      // A CPU failure is not a provider problem but a bad or missing model file: never hide it.
      if (provider === 'cpu') {
        throw new ModelError('file-invalid', `onnxruntime could not load ${modelPath} for ${label}: ${shortReason(err)}. Check the file (verify its manifest entry) or re-create it.`, { cause: err });
      }
      const reason = `${provider} failed: ${shortReason(err)}`;
      failures.push(reason);
      options.logger.warn({ model: label, provider, err: shortReason(err) }, `The ${provider} execution provider is unavailable for ${label}; trying the next configured provider.`);
      continue;
    }
    const fallbackReason = failures.length > 0 ? failures.join('; ') : null;
    const release = recordProvider(label, provider, providers, fallbackReason);
    options.logger.info(
      { model: label, provider, requested: providers, fallbackReason },
      fallbackReason ? `${label} runs on ${provider} after falling back (${fallbackReason}).` : `${label} runs on ${provider}.`,
    );
    let closed = false;
    return {
      session,
      provider,
      label,
      run: (feeds) => session.run(feeds),
      close: async () => {
        if (closed) return;
        closed = true;
        release();
        await session.release();
      },
    };
  }
  throw new ModelError(
    'provider-unavailable',
    `None of the configured execution providers (${providers.join(', ')}) could run ${label}: ${failures.join('; ')}. ${CUDA_HINT}, or add cpu as a fallback (ORT_PROVIDERS=cuda,cpu).`,
  );
}

/**
 * A session on a graph built in memory (the k-means, probe and feature graphs `setup` fits with, and
 * test graphs): there is no file or manifest entry to verify and no provider to choose (onnxruntime's
 * default, the CPU), so it is not recorded in providerInfo().
 */
export async function createInMemorySession(
  bytes: Uint8Array,
  intraOpThreads?: number,
): Promise<{ run(feeds: Feeds): Promise<Fetches>; close(): Promise<void> }> {
  const s = await InferenceSession.create(bytes, intraOpThreads !== undefined ? { intraOpNumThreads: intraOpThreads } : {});
  return { run: (feeds) => s.run(feeds), close: () => s.release() };
}

/** The session's inputs/outputs as manifest TensorSpecs (names, types, symbolic or fixed dims). */
export function describeSessionIo(session: InferenceSession): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  const spec = (m: InferenceSession.ValueMetadata): TensorSpec =>
    m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] };
  return { inputs: session.inputMetadata.map(spec), outputs: session.outputMetadata.map(spec) };
}
