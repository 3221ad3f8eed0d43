/**
 * domain/ reads as "check, then write": how a write is made fast (statements fused and rendered once, prepared
 * shapes, concurrent changes batched) is db/'s business, behind plain helpers such as `submissionWrite`.
 */
import { expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const DOMAIN = resolve(import.meta.dir, '../../src/domain');
const domainFiles = () =>
  readdirSync(DOMAIN)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ name: f, text: readFileSync(join(DOMAIN, f), 'utf8') }));

/** The db/ modules that hold the speed-ups themselves, not helpers over them. */
const MACHINERY = ['change-batches', 'prepared-statements', 'submission-batch-statement', 'unit-of-work'];

test('domain/ imports none of the batching or prepared-statement machinery of db/', () => {
  const offenders = domainFiles().flatMap(({ name, text }) =>
    MACHINERY.filter((m) => text.includes(`../db/${m}.ts`)).map((m) => `${name} → db/${m}.ts`),
  );
  expect(offenders).toEqual([]);
});

test("domain/ builds no statement shapes (placeholder values, text keys) nor batch groups: db/'s helpers do", () => {
  const offenders = domainFiles()
    .filter(({ text }) => /\bshape\s*:|\bbatch\s*:\s*\{|sql\.placeholder/.test(text))
    .map(({ name }) => name);
  expect(offenders).toEqual([]);
});
