// The photo-fetch guard, tested without a packet leaving loopback: names resolve through a fake
// resolver (never DNS), the only server is on 127.0.0.1, and every refusal must happen before a
// connection is attempted (the connect hook and the server's connection count both stay at zero).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderSyntheticPhoto } from '../src/images/index.js';
import { isPermanent } from '../src/pipeline/errors.js';
import { fetchPhotoUrl, type FetchGuardOptions, type ResolvedAddress } from '../src/photos/index.js';

const NAMES: Record<string, ResolvedAddress[]> = {
  'photos.test': [{ address: '127.0.0.1', family: 4 }],
  'metadata.test': [{ address: '169.254.169.254', family: 4 }],
  'intranet.test': [{ address: '10.0.0.5', family: 4 }],
  'router.test': [{ address: '192.168.1.1', family: 4 }],
  'carrier.test': [{ address: '100.64.0.9', family: 4 }],
  'v6local.test': [{ address: 'fd00::1', family: 6 }],
  'v6link.test': [{ address: 'fe80::1', family: 6 }],
  'mapped.test': [{ address: '::ffff:169.254.169.254', family: 6 }],
  // Public addresses: allow-listed or not, the tests never let a connection reach them.
  'public.test': [{ address: '93.184.216.34', family: 4 }],
  'mixed.test': [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.1', family: 4 }],
};

let server: http.Server;
let port = 0;
let serverConnections = 0;
let photo: Buffer;
const attempts: { host: string; address: string; port: number }[] = [];
const resolved: string[] = [];

async function fakeResolve(host: string): Promise<ResolvedAddress[]> {
  resolved.push(host);
  const answer = NAMES[host];
  if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return answer;
}

function opts(over: Partial<FetchGuardOptions> = {}): FetchGuardOptions {
  return {
    allowHosts: ['photos.test', 'metadata.test', 'intranet.test', 'router.test', 'carrier.test', 'v6local.test', 'v6link.test', 'mapped.test', 'mixed.test', '127.0.0.1'],
    allowLoopback: true,
    maxBytes: 1_000_000,
    timeoutMs: 2000,
    maxRedirects: 3,
    resolve: fakeResolve,
    onConnect: (t) => attempts.push(t),
    ...over,
  };
}

async function refusal(url: string, o: FetchGuardOptions): Promise<Error & { code?: string }> {
  const err = await fetchPhotoUrl(url, o).then(
    () => null,
    (e: unknown) => e as Error & { code?: string },
  );
  if (!err) throw new Error(`Expected ${url} to be refused, but it was fetched.`);
  return err;
}

beforeAll(async () => {
  photo = await renderSyntheticPhoto({ seed: 1, palette: [[200, 30, 30], [20, 20, 20]], shape: 'circle', width: 64, height: 48 });
  server = http.createServer((req, res) => {
    const to = (location: string) => res.writeHead(302, { location }).end();
    switch (req.url) {
      case '/photo.jpg':
        return void res.writeHead(200, { 'content-type': 'image/jpeg' }).end(photo);
      case '/to-self':
        return to('/photo.jpg');
      case '/to-metadata':
        return to('http://metadata.test/latest/meta-data/');
      case '/to-intranet':
        return to(`http://intranet.test:${port}/photo.jpg`);
      case '/to-elsewhere':
        return to('http://elsewhere.test/photo.jpg');
      case '/to-literal':
        return to('http://169.254.169.254/latest/');
      case '/loop':
        return to('/loop');
      case '/declared-big':
        return void res.writeHead(200, { 'content-length': '5000000' }).end();
      case '/chunked-big': {
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        res.write(Buffer.alloc(600_000));
        return void res.end(Buffer.alloc(600_000));
      }
      case '/slow':
        return; // never answers
      case '/gone':
        return void res.writeHead(404).end();
      case '/busy':
        return void res.writeHead(503).end();
      default:
        return void res.writeHead(500).end();
    }
  });
  server.on('connection', () => (serverConnections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  attempts.length = 0;
  resolved.length = 0;
  serverConnections = 0;
});

describe('photo-fetch guard: refusals before any connection', () => {
  it.each([
    ['metadata.test', '169.254.169.254'],
    ['intranet.test', '10.0.0.5'],
    ['router.test', '192.168.1.1'],
    ['carrier.test', '100.64.0.9'],
    ['v6local.test', 'fd00::1'],
    ['v6link.test', 'fe80::1'],
    ['mapped.test', '::ffff:169.254.169.254'],
    ['mixed.test', '10.0.0.1'],
  ])('refuses %s, which resolves to %s', async (host, address) => {
    const err = await refusal(`http://${host}/photo.jpg`, opts());
    expect(err.message).toContain(address);
    expect(err.code).toBe('url_refused');
    expect(isPermanent(err)).toBe(true);
    expect(attempts).toEqual([]);
  });

  it('refuses loopback unless it is explicitly allowed', async () => {
    const err = await refusal(`http://photos.test:${port}/photo.jpg`, opts({ allowLoopback: false }));
    expect(err.message).toMatch(/127\.0\.0\.1 \(loopback\)/);
    const literal = await refusal(`http://127.0.0.1:${port}/photo.jpg`, opts({ allowLoopback: false }));
    expect(literal.code).toBe('url_refused');
    expect(attempts).toEqual([]);
    expect(serverConnections).toBe(0);
  });

  it('refuses a public host that is not on the allow-list without even resolving it', async () => {
    const err = await refusal('http://public.test/photo.jpg', opts());
    expect(err.message).toMatch(/not on the allow-list/);
    expect(resolved).toEqual([]);
    expect(attempts).toEqual([]);
  });

  it('refuses other schemes and credentials in the URL', async () => {
    expect((await refusal('file:///etc/passwd', opts())).code).toBe('url_refused');
    expect((await refusal(`ftp://photos.test:${port}/x`, opts())).code).toBe('url_refused');
    expect((await refusal(`http://user:pw@photos.test:${port}/photo.jpg`, opts())).code).toBe('url_refused');
    expect(attempts).toEqual([]);
  });
});

describe('photo-fetch guard: redirects are checked hop by hop', () => {
  it.each([
    ['/to-metadata', /169\.254\.169\.254/],
    ['/to-intranet', /10\.0\.0\.5/],
    ['/to-literal', /169\.254\.169\.254/],
    ['/to-elsewhere', /elsewhere\.test is not on the allow-list/],
  ])('refuses the redirect %s at the redirect', async (path, message) => {
    const err = await refusal(`http://photos.test:${port}${path}`, opts());
    expect(err.message).toMatch(message);
    expect(err.code).toBe('url_refused');
    // Exactly one connection: the first hop to the local server; none to the redirect's target.
    expect(attempts).toEqual([{ host: 'photos.test', address: '127.0.0.1', port }]);
    expect(serverConnections).toBe(1);
  });

  it('follows a redirect within the allowed hosts, up to the limit', async () => {
    const bytes = await fetchPhotoUrl(`http://photos.test:${port}/to-self`, opts());
    expect(bytes.equals(photo)).toBe(true);
    expect(attempts).toHaveLength(2);
    const err = await refusal(`http://photos.test:${port}/loop`, opts({ maxRedirects: 2 }));
    expect(err.code).toBe('too_many_redirects');
  });
});

describe('photo-fetch guard: the allowed path', () => {
  it('connects to the address it checked, resolving the name once per hop', async () => {
    const bytes = await fetchPhotoUrl(`http://photos.test:${port}/photo.jpg`, opts());
    expect(bytes.equals(photo)).toBe(true);
    expect(resolved).toEqual(['photos.test']);
    expect(attempts).toEqual([{ host: 'photos.test', address: '127.0.0.1', port }]);
    expect(serverConnections).toBe(1);
  });

  it('pins the checked address: a resolver that changes its answer later cannot redirect the connection', async () => {
    let calls = 0;
    const rebinding = async (): Promise<ResolvedAddress[]> => {
      calls += 1;
      return calls === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '169.254.169.254', family: 4 }];
    };
    const bytes = await fetchPhotoUrl(`http://photos.test:${port}/photo.jpg`, opts({ resolve: rebinding }));
    expect(bytes.equals(photo)).toBe(true);
    expect(calls).toBe(1);
    expect(serverConnections).toBe(1);
  });

  it('enforces the size limit, declared or streamed', async () => {
    expect((await refusal(`http://photos.test:${port}/declared-big`, opts())).code).toBe('too_large');
    expect((await refusal(`http://photos.test:${port}/chunked-big`, opts())).code).toBe('too_large');
  });

  it('times out slow servers as a transient (retried) failure', async () => {
    const err = await refusal(`http://photos.test:${port}/slow`, opts({ timeoutMs: 300 }));
    expect(err.message).toMatch(/longer than 300 ms/);
    expect(isPermanent(err)).toBe(false);
  });

  it('treats 404 as permanent and 503 as transient', async () => {
    const gone = await refusal(`http://photos.test:${port}/gone`, opts());
    expect(gone.code).toBe('photo_unavailable');
    expect(isPermanent(gone)).toBe(true);
    const busy = await refusal(`http://photos.test:${port}/busy`, opts());
    expect(isPermanent(busy)).toBe(false);
  });
});
