import { describe, expect, it } from 'vitest';
import { checkAddress, isHostAllowed, isIpLiteral, normalizeHost } from './address-policy.js';

describe('photo host allow-list', () => {
  const list = ['cdn.example.com', '*.images.example.net', '127.0.0.1'];

  it('matches exact hosts and subdomain wildcards, case-insensitively', () => {
    expect(isHostAllowed('CDN.example.com', list)).toBe(true);
    expect(isHostAllowed('cdn.example.com.', list)).toBe(true);
    expect(isHostAllowed('a.images.example.net', list)).toBe(true);
    expect(isHostAllowed('a.b.images.example.net', list)).toBe(true);
    expect(isHostAllowed('127.0.0.1', list)).toBe(true);
  });

  it('refuses everything else, including look-alikes', () => {
    expect(isHostAllowed('images.example.net', list)).toBe(false);
    expect(isHostAllowed('evilimages.example.net', list)).toBe(false);
    expect(isHostAllowed('cdn.example.com.evil.org', list)).toBe(false);
    expect(isHostAllowed('xcdn.example.com', list)).toBe(false);
    expect(isHostAllowed('localhost', list)).toBe(false);
    expect(isHostAllowed('cdn.example.com', [])).toBe(false);
  });

  it('normalises brackets and trailing dots', () => {
    expect(normalizeHost('[::1]')).toBe('::1');
    expect(normalizeHost('Example.COM.')).toBe('example.com');
    expect(isIpLiteral('[::1]')).toBe(true);
    expect(isIpLiteral('example.com')).toBe(false);
  });
});

describe('photo address policy', () => {
  const refuse = (a: string, allowLoopback = false) => checkAddress(a, { allowLoopback });

  it('allows public unicast addresses', () => {
    expect(refuse('93.184.216.34').allowed).toBe(true);
    expect(refuse('2606:2800:220:1:248:1893:25c8:1946').allowed).toBe(true);
  });

  it.each([
    ['169.254.169.254', 'linkLocal'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'],
    ['::1', 'loopback'],
    ['fe80::1', 'linkLocal'],
    ['fd00::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::ffff:10.0.0.1', 'private'],
    ['2002:a00:1::', '6to4'],
    ['64:ff9b::a00:1', 'rfc6052'],
    // IPv4-compatible IPv6, dotted and in hex: judged as the IPv4 address inside.
    ['::10.0.0.1', 'private'],
    ['::a9fe:a9fe', 'linkLocal'],
    ['::a00:1', 'private'],
  ])('refuses %s (%s)', (address, range) => {
    expect(refuse(address)).toEqual({ allowed: false, range });
  });

  it('allows an IPv4-compatible IPv6 form of a public address, as the address itself', () => {
    expect(refuse('::808:808')).toEqual({ allowed: true, range: 'unicast' });
  });

  it('allows loopback only when asked', () => {
    expect(refuse('127.0.0.1', true).allowed).toBe(true);
    expect(refuse('::1', true).allowed).toBe(true);
    expect(refuse('10.0.0.1', true).allowed).toBe(false);
    expect(refuse('not an address').allowed).toBe(false);
  });
});
