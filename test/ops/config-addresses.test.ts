/**
 * METRICS_ALLOW and TRUSTED_PROXIES are checked when the configuration is read: a typo stops start-up naming the
 * variable and the entry. METRICS_ALLOW used to be parsed at the first /metrics scrape without a token, which then
 * failed instead of the start-up.
 */
import { expect, test } from 'bun:test';
import { ConfigError, loadConfig } from '../../src/config.ts';

test('a bad entry in METRICS_ALLOW or TRUSTED_PROXIES is a ConfigError naming both', () => {
  let err: unknown;
  try {
    loadConfig({ METRICS_ALLOW: '127.0.0.1, 10.0.0.0/33, localhost', TRUSTED_PROXIES: '10.0.0.1,nope' });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  const message = (err as Error).message;
  expect(message).toContain('METRICS_ALLOW: "10.0.0.0/33" is not an IPv4/IPv6 address or CIDR');
  expect(message).toContain('METRICS_ALLOW: "localhost"');
  expect(message).toContain('TRUSTED_PROXIES: "nope"');
});

test('valid lists are kept as given, the defaults still apply', () => {
  const c = loadConfig({ METRICS_ALLOW: ' 10.0.0.0/8 , ::1,', TRUSTED_PROXIES: '192.168.1.10, fd00::/8' });
  expect(c.metricsAllow).toEqual(['10.0.0.0/8', '::1']);
  expect(c.trustedProxies).toEqual(['192.168.1.10', 'fd00::/8']);
  const d = loadConfig({});
  expect(d.metricsAllow).toEqual(['127.0.0.1', '::1']);
  expect(d.trustedProxies).toEqual([]);
});
