// The model runtime: onnxruntime sessions with provider fallback, and the dynamic micro-batcher.
export { createSession, describeSessionIo, Tensor } from './session.js';
export type { Feeds, Fetches, ModelSession, OrtSession, SessionOptions } from './session.js';
export { openModelSession, onnxFileOf } from './open.js';
export { providerInfo } from './providers.js';
export type { ExecutionProvider, ProviderRecord } from './providers.js';
export { createBatcher } from './batcher.js';
export type { Batcher, BatcherOptions } from './batcher.js';
