// The only network code in the model layer, used solely by the explicit `models pull` command. Kept
// deliberately tiny: stream one URL to a temp file, then rename. Everything after the download
// (hashing, manifest entry, verification) is the same code path local models take.
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { ModelError } from './errors.js';

export interface DownloadOptions {
  /** Abort when no byte arrives for this long (default 60 s); large files may take longer in total. */
  stallTimeoutMs?: number;
}

/** Downloads url (http, https or file) to dest atomically; returns the byte count. */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<number> {
  const stallMs = options.stallTimeoutMs ?? 60_000;
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.partial-${process.pid}`;
  try {
    if (url.startsWith('file:')) {
      // A local mirror (e.g. a copied hub snapshot on an air-gapped host).
      await copyFile(fileURLToPath(url), tmp);
    } else {
      await fetchToFile(url, tmp, stallMs);
    }
    const { size } = await stat(tmp);
    await rename(tmp, dest);
    return size;
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof ModelError) throw err;
    throw new ModelError(
      'download-failed',
      `Downloading ${url} failed (${describeFailure(err)}). Check the network route to the model hub and the hub URL setting, then run \`models pull\` again.`,
      { cause: err },
    );
  }
}

async function fetchToFile(url: string, tmp: string, stallMs: number): Promise<void> {
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(new Error(`no response for ${stallMs} ms`)), stallMs);
  const poke = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${stallMs} ms`)), stallMs);
  };
  try {
    const res = await fetch(url, { signal: controller.signal, redirect: 'follow' });
    if (!res.ok || !res.body) {
      throw new ModelError('download-failed', `Downloading ${url} failed with HTTP ${res.status} ${res.statusText}. Check the hub URL and that the file exists, then run \`models pull\` again.`);
    }
    // With a content-encoding the length header counts compressed bytes, so it cannot be checked.
    const encoding = res.headers.get('content-encoding');
    const expected = !encoding || encoding === 'identity' ? Number(res.headers.get('content-length') ?? NaN) : NaN;
    let received = 0;
    const watch = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        poke();
        received += chunk.length;
        cb(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), watch, createWriteStream(tmp));
    if (Number.isFinite(expected) && received !== expected) {
      throw new ModelError('download-failed', `Downloading ${url} stopped after ${received} of ${expected} bytes; run \`models pull\` again.`);
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * fetch() reports every network fault as "fetch failed"; the reason (ENOTFOUND for no DNS on an offline
 * machine, ECONNREFUSED, a TLS error, ...) is in its cause, and is what tells an operator what to fix.
 */
function describeFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : '';
  const text = typeof cause?.message === 'string' ? cause.message : '';
  const detail = text.includes(code) ? text : `${code} ${text}`.trim();
  return detail && !message.includes(detail) ? `${message}: ${detail}` : message;
}
