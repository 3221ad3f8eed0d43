/**
 * Settings the benchmark and deployments rely on: RATE_LIMIT_SCALE up to 100,000 (all benchmark load comes from one
 * address; the anonymous budget × 1000 ran out at ~8,000 rps), AUDIT_APPENDER, NODE_ENV read into the config.
 */
import { expect, test } from 'bun:test';
import { ConfigError, loadConfig } from '../../src/config.ts';

test('RATE_LIMIT_SCALE accepts up to 100000 and refuses more or a negative value', () => {
  expect(loadConfig({ RATE_LIMIT_SCALE: '100000' }).rateLimitScale).toBe(100_000);
  expect(() => loadConfig({ RATE_LIMIT_SCALE: '100001' })).toThrow(ConfigError);
  expect(() => loadConfig({ RATE_LIMIT_SCALE: '-1' })).toThrow(ConfigError);
});

test('AUDIT_APPENDER is worker by default, inline on request, anything else stops start-up naming it', () => {
  expect(loadConfig({}).auditAppender).toBe('worker');
  expect(loadConfig({ AUDIT_APPENDER: 'inline' }).auditAppender).toBe('inline');
  expect(() => loadConfig({ AUDIT_APPENDER: 'thread' })).toThrow(/AUDIT_APPENDER/);
});

test('NODE_ENV is read into the configuration (main warns in production without it)', () => {
  expect(loadConfig({ NODE_ENV: 'production' }).nodeEnv).toBe('production');
  expect(loadConfig({}).nodeEnv).toBeUndefined();
});

test('`bun run start` keeps freed memory in the allocator, and the benchmark starts its Bun servers the same way', async () => {
  const { startScriptEnv } = await import('../../bench/lib/processes.ts');
  expect(startScriptEnv()).toEqual({ MIMALLOC_PURGE_DELAY: '-1' });
  expect(loadConfig({ MIMALLOC_PURGE_DELAY: '-1' }).allocatorPurgeDelay).toBe('-1');
});
