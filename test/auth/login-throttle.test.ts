/**
 * The token endpoint's lock-out keys (issue 18 item 6), below the HTTP tests in token-endpoint.test.ts: which
 * address a failure counts against, and that no key is per client id alone.
 */
import { describe, expect, test } from 'bun:test';
import { addressKey, createLoginThrottle, throttleKeys } from '../../src/auth/login-throttle.ts';

describe('addressKey', () => {
  test('IPv4 as is, IPv4-mapped IPv6 unwrapped, IPv6 by its /64 however it is written', () => {
    expect(addressKey('203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    const a = addressKey('2001:db8:1:2:3:4:5:6');
    expect(addressKey('2001:db8:1:2::7')).toBe(a);
    expect(addressKey('2001:0db8:0001:0002:ffff::1')).toBe(a);
    expect(addressKey('2001:db8:1:3::1')).not.toBe(a);
  });
});

describe('createLoginThrottle', () => {
  test('a stranger locks out only itself: per (client, address) and per address, never per client', () => {
    const throttle = createLoginThrottle({ maxFailures: 3, windowMs: 60_000 });
    const now = 1_000_000;
    for (let i = 0; i < 3; i++) throttle.fail(throttleKeys('acme', '203.0.113.9'), now);
    expect(throttle.retryAfter(throttleKeys('acme', '203.0.113.9'), now)).toBeGreaterThan(0);
    expect(throttle.retryAfter(throttleKeys('acme', '198.51.100.7'), now)).toBe(0);
    // many strangers, each under the limit: the owner is untouched
    for (let i = 0; i < 50; i++) throttle.fail(throttleKeys('acme', `192.0.2.${i}`), now);
    expect(throttle.retryAfter(throttleKeys('acme', '198.51.100.7'), now)).toBe(0);
    // the lock ends with the window
    expect(throttle.retryAfter(throttleKeys('acme', '203.0.113.9'), now + 60_001)).toBe(0);
  });

  test('a success clears its pair but not its address', () => {
    const throttle = createLoginThrottle({ maxFailures: 3 });
    const now = 1_000_000;
    for (let i = 0; i < 2; i++) throttle.fail(throttleKeys('acme', '203.0.113.9'), now);
    throttle.succeed(throttleKeys('acme', '203.0.113.9')[0]!);
    throttle.fail(throttleKeys('acme', '203.0.113.9'), now);
    expect(throttle.retryAfter(throttleKeys('acme', '203.0.113.9'), now)).toBeGreaterThan(0); // the address reached 3
    expect(throttle.retryAfter([throttleKeys('acme', '203.0.113.9')[0]!], now)).toBe(0); // the pair is at 1
  });
});
