import { afterAll, describe, expect, test } from 'bun:test';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCHEMA_DIR } from '../../src/graphql/schema.ts';
import { CLI_TEST_TIMEOUT, runCli } from './support.ts';

const copies: string[] = [];
afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** A copy of schema/ in which `Query.submissionReceipt` lost its @requiresScopes. */
function schemaWithoutOneRule(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pg-schema-'));
  copies.push(dir);
  cpSync(SCHEMA_DIR, dir, { recursive: true });
  const file = join(dir, 'permits.graphql');
  const sdl = readFileSync(file, 'utf8');
  const stripped = sdl.replace(/^(\s*submissionReceipt\(.*?)\s*@requiresScopes\(scopes:\s*\[\[[^\]]*\]\]\)\s*$/m, '$1');
  expect(stripped).not.toBe(sdl); // the fixture really removed a rule
  writeFileSync(file, stripped);
  return dir;
}

describe('cli policy audit', () => {
  test(
    'every field of the shipped schema has a rule, so the audit passes and lists them all',
    async () => {
      const res = await runCli(['policy', 'audit', '--json']);
      expect(res.code).toBe(0);
      const report = JSON.parse(res.stdout);
      expect(report.missing).toEqual([]);
      expect(report.fields).toBeGreaterThan(50);
      const rules = new Map((report.rules as { field: string; rule: string }[]).map((r) => [r.field, r.rule]));
      expect(rules.get('Query.permitStatus')).toBe('public');
      expect(rules.get('Query.submissionReceipt')).toBe('permits:submit');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'a schema with one @requiresScopes removed fails the audit naming that field',
    async () => {
      const dir = schemaWithoutOneRule();
      const text = await runCli(['policy', 'audit', '--schema-dir', dir]);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain('1 of');
      expect(text.stdout).toMatch(/fields have no access rule[\s\S]*Query\.submissionReceipt/);

      const json = await runCli(['policy', 'audit', '--schema-dir', dir, '--json']);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout).missing).toEqual(['Query.submissionReceipt']);
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'a --schema-dir that does not exist is a failure with a message',
    async () => {
      const res = await runCli(['policy', 'audit', '--schema-dir', join(tmpdir(), 'no-such-schema-dir-4711')]);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('no such directory');
    },
    CLI_TEST_TIMEOUT,
  );
});
