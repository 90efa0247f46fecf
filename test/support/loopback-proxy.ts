// A TCP proxy on 127.0.0.1 to a local port (the real Redis), which a test closes to stage an outage
// and can reopen on the same port to stage the return. Nothing leaves loopback.
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface LoopbackProxy {
  port: number;
  /** Stops listening and destroys every connection through the proxy. */
  stop(): Promise<void>;
}

/** Listens on `port` (0: any free port) and forwards each connection to 127.0.0.1:`targetPort`. */
export function loopbackProxy(targetPort: number, port = 0): Promise<LoopbackProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const s of sockets) s.destroy();
          }),
      }),
    ),
  );
}

/** The port of the Redis the tests use (REDIS_URL, default 6379). */
export function redisPort(url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'): number {
  return Number(new URL(url).port || 6379);
}
