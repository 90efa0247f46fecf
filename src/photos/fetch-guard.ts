// Fetching a photo URL safely. Each hop (the first URL and every redirect) is checked before any
// connection is opened: http(s) only, no credentials in the URL, host on the allow-list, and every
// address the name resolves to public (or loopback when explicitly allowed). The connection then goes
// to the address that was checked, pinned through the request's `lookup`, so a DNS answer that changes
// between the check and the connect (DNS rebinding) cannot redirect it. Size and time are bounded.
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { PermanentJobError } from '../pipeline/errors.js';
import { checkAddress, isHostAllowed, isIpLiteral, normalizeHost } from './address-policy.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has; tests inject a fake that never touches DNS. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

export interface FetchGuardOptions {
  allowHosts: readonly string[];
  allowLoopback: boolean;
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  resolve?: Resolver;
  /** Called right before a connection to a checked address is opened (tests record attempts). */
  onConnect?: (target: { host: string; address: string; port: number }) => void;
}

/** Why a URL was refused by policy: permanent, a retry would be refused the same way. */
export class PhotoUrlRefusedError extends PermanentJobError {
  constructor(message: string) {
    super(message, 'url_refused');
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Worth another attempt later: the server is overloaded or briefly failing.
const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Checks one hop and returns the address to connect to; throws PhotoUrlRefusedError otherwise. */
export async function checkHop(url: URL, opts: FetchGuardOptions): Promise<ResolvedAddress> {
  const shown = redact(url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PhotoUrlRefusedError(`Photo URL ${shown} uses ${url.protocol}; only http and https photo URLs are fetched.`);
  }
  if (url.username || url.password) {
    throw new PhotoUrlRefusedError(`Photo URL ${shown} carries credentials; send a URL without user:password@.`);
  }
  const host = normalizeHost(url.hostname);
  if (!isHostAllowed(host, opts.allowHosts)) {
    throw new PhotoUrlRefusedError(
      `Photo host ${host} is not on the allow-list (PHOTO_HOST_ALLOWLIST); host the photo on an allowed host or ask an operator to add this one.`,
    );
  }
  const addresses = isIpLiteral(host)
    ? [{ address: host, family: (host.includes(':') ? 6 : 4) as 4 | 6 }]
    : await (opts.resolve ?? systemResolver)(host).catch((err: unknown) => {
        throw Object.assign(new Error(`Photo host ${host} could not be resolved (${(err as Error).message}); it will be retried.`), { cause: err });
      });
  if (addresses.length === 0) throw new Error(`Photo host ${host} resolved to no address; it will be retried.`);
  // Every address must pass: a name mixing a public and a private address is refused outright.
  for (const a of addresses) {
    const verdict = checkAddress(a.address, { allowLoopback: opts.allowLoopback });
    if (!verdict.allowed) {
      throw new PhotoUrlRefusedError(
        `Photo host ${host} resolves to ${a.address} (${verdict.range}), which photo fetches may not reach; use a publicly reachable photo URL.`,
      );
    }
  }
  return addresses[0]!;
}

interface HopResult {
  status: number;
  location: string | null;
  body: Buffer | null;
}

function requestHop(url: URL, pinned: ResolvedAddress, opts: FetchGuardOptions, signal: AbortSignal): Promise<HopResult> {
  const lib = url.protocol === 'https:' ? https : http;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  // net.connect asks this for the name's address; it answers with the checked one, never DNS.
  const lookup: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: ResolvedAddress[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  opts.onConnect?.({ host: normalizeHost(url.hostname), address: pinned.address, port });
  return new Promise<HopResult>((resolve, reject) => {
    const req = lib.request(
      {
        protocol: url.protocol,
        hostname: normalizeHost(url.hostname),
        port,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { accept: 'image/*', 'user-agent': 'listing-pipeline-photo-fetch/1' },
        lookup,
        agent: false,
        signal,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          res.resume();
          resolve({ status, location: typeof res.headers.location === 'string' ? res.headers.location : null, body: null });
          return;
        }
        const declared = Number(res.headers['content-length'] ?? NaN);
        if (Number.isFinite(declared) && declared > opts.maxBytes) {
          res.destroy();
          reject(new PermanentJobError(`Photo ${redact(url)} is ${declared} bytes, over the ${opts.maxBytes}-byte limit; send a smaller photo.`, 'too_large'));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > opts.maxBytes) {
            res.destroy();
            reject(new PermanentJobError(`Photo ${redact(url)} is over the ${opts.maxBytes}-byte limit; send a smaller photo.`, 'too_large'));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status, location: null, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Fetches a photo URL under the guard. Policy refusals and 4xx answers are permanent errors (retrying
 * cannot help); timeouts, connection errors and 5xx/429 answers are plain errors, retried by the queue.
 */
export async function fetchPhotoUrl(source: string, opts: FetchGuardOptions): Promise<Buffer> {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new PhotoUrlRefusedError(`Photo source ${JSON.stringify(source.slice(0, 200))} is not a valid URL; send an absolute http(s) URL.`);
  }
  const signal = AbortSignal.timeout(opts.timeoutMs);
  for (let hop = 0; ; hop += 1) {
    const pinned = await checkHop(url, opts);
    let result: HopResult;
    try {
      result = await requestHop(url, pinned, opts, signal);
    } catch (err) {
      if (signal.aborted) throw new Error(`Fetching photo ${redact(url)} took longer than ${opts.timeoutMs} ms; it will be retried.`, { cause: err });
      throw err;
    }
    if (result.body) return result.body;
    if (REDIRECTS.has(result.status) && result.location) {
      if (hop >= opts.maxRedirects) {
        throw new PermanentJobError(`Photo ${redact(url)} redirected more than ${opts.maxRedirects} times; send the photo's final URL.`, 'too_many_redirects');
      }
      const next = new URL(result.location, url);
      if (url.protocol === 'https:' && next.protocol === 'http:') {
        throw new PhotoUrlRefusedError(`Photo ${redact(url)} redirected from https to plain http (${redact(next)}); send an https URL that stays on https.`);
      }
      url = next;
      continue;
    }
    const message = `Fetching photo ${redact(url)} answered HTTP ${result.status}`;
    if (TRANSIENT_STATUS.has(result.status)) throw new Error(`${message}; it will be retried.`);
    throw new PermanentJobError(`${message}; check that the photo URL is public and still exists.`, 'photo_unavailable');
  }
}
