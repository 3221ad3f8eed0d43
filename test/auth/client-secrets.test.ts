/**
 * Client secrets are pasted into command lines (`bun run cli token --secret …`, README): none may start with `-`,
 * which the CLI's option parser takes for an option (one draw in 64 did, and made `cli token` fail in CI).
 */
import { expect, test } from 'bun:test';
import { newSecret } from '../../src/auth/client-registry.ts';

test('no client secret starts with a dash; each is 43 base64url characters and different', () => {
  const secrets = Array.from({ length: 5_000 }, newSecret);
  expect(secrets.filter((s) => s.startsWith('-'))).toEqual([]);
  expect(secrets.every((s) => /^[A-Za-z0-9_-]{43}$/.test(s))).toBe(true);
  expect(new Set(secrets).size).toBe(secrets.length);
});
