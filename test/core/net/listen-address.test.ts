/**
 * Where a server may listen: an IP literal or a hostname (RFC 1123 §2.1), a port 0-65535.
 */
import { describe, expect, it } from 'vitest';
import { hostProblem, portProblem, unbracket } from '../../../src/core/net/listen-address.ts';

describe('hostProblem', () => {
  it.each(['127.0.0.1', '0.0.0.0', '::1', '::', '[::1]', 'fe80::1', 'localhost', 'my-host.example.com', 'example.com.', 'a', '1host', 'x'.repeat(63)])('accepts %j', (host) => {
    expect(hostProblem(host)).toBeNull();
  });

  it.each([
    ['bad host', /"bad host" is not an IP address or a hostname/],
    ['', /empty/],
    ['a/b', /not an IP address/],
    ['-leading', /not an IP address/],
    ['trailing-', /not an IP address/],
    ['a..b', /not an IP address/],
    ['[not-ipv6]', /not an IP address/],
    ['[127.0.0.1]', /not an IP address/],
    ['x'.repeat(64), /not an IP address/],
    [`${'a.'.repeat(127)}ab`, /not an IP address/],
    ['host\r\nX: y', /not an IP address/],
    ['ünïcode', /not an IP address/],
  ])('refuses %j', (host, message) => {
    const problem = hostProblem(host);
    expect(problem).toMatch(message);
    expect(problem).not.toMatch(/[\r\n]/);
  });
});

describe('portProblem', () => {
  it.each([0, 1, 9001, 65535])('accepts %d', (port) => {
    expect(portProblem(port)).toBeNull();
  });

  it.each([-1, 65536, 70_000, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %d', (port) => {
    expect(portProblem(port)).toMatch(/0 to 65535/);
  });
});

describe('unbracket', () => {
  it.each([
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['[not-ipv6]', '[not-ipv6]'],
    ['localhost', 'localhost'],
  ])('%j → %j', (host, expected) => {
    expect(unbracket(host)).toBe(expected);
  });
});
