// Which hosts and addresses a photo URL may reach. The marketplace hands us URLs, so without these
// checks a listing could make the image-clean pool fetch cloud metadata (169.254.169.254), services on
// the private network or the pool's own loopback ports (server-side request forgery).
import ipaddr from 'ipaddr.js';

/** Lower-cased host without IPv6 brackets or a trailing dot, as compared against the allow-list. */
export function normalizeHost(hostname: string): string {
  let h = hostname.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/**
 * True when the host is on the allow-list: an entry is an exact host ("cdn.example.com", "127.0.0.1")
 * or a wildcard for subdomains ("*.example.com" matches "a.example.com", not "example.com").
 */
export function isHostAllowed(hostname: string, allowList: readonly string[]): boolean {
  const host = normalizeHost(hostname);
  return allowList.some((raw) => {
    const entry = normalizeHost(raw.trim());
    if (entry.startsWith('*.')) return host.endsWith(entry.slice(1)) && host.length > entry.length - 1;
    return host === entry;
  });
}

export type AddressVerdict = { allowed: true; range: string } | { allowed: false; range: string };

/**
 * Allows only public unicast addresses (and loopback when asked, for tests and local demos). Every
 * other range ipaddr.js knows is refused: private, link-local, unique-local, multicast, unspecified,
 * carrier-grade NAT, reserved, and the IPv6 forms that embed an IPv4 address (6to4, Teredo, NAT64),
 * since those can smuggle a private IPv4 target. IPv4-mapped and IPv4-compatible IPv6 (::ffff:0:0/96,
 * ::/96) are judged as the IPv4 they carry.
 */
export function checkAddress(address: string, opts: { allowLoopback: boolean }): AddressVerdict {
  if (!ipaddr.isValid(address)) return { allowed: false, range: 'invalid' };
  let ip = ipaddr.process(address);
  // IPv4-compatible IPv6 (::a.b.c.d, deprecated by RFC 4291) written in hex (::a9fe:a9fe) is not
  // converted by ipaddr.js, which calls it unicast; where a host still routes it, it reaches the IPv4
  // address it embeds (here 169.254.169.254), so it is judged as that address, as the dotted form is.
  if (ip.kind() === 'ipv6' && !['loopback', 'unspecified'].includes(ip.range())) {
    const parts = (ip as ipaddr.IPv6).parts;
    if (parts.slice(0, 6).every((p) => p === 0)) {
      ip = ipaddr.IPv4.parse([parts[6]! >> 8, parts[6]! & 255, parts[7]! >> 8, parts[7]! & 255].join('.'));
    }
  }
  const range = ip.range();
  if (range === 'unicast') return { allowed: true, range };
  if (range === 'loopback' && opts.allowLoopback) return { allowed: true, range };
  return { allowed: false, range };
}

/** True for an IPv4 or IPv6 literal (the URL names an address rather than a host). */
export function isIpLiteral(host: string): boolean {
  return ipaddr.isValid(normalizeHost(host));
}
