/**
 * app.ts assembles the edge steps as one ordered list read top to bottom (outermost first), not as wrappers nested
 * by hand, so adding or moving a step is a one-line change whose place in the order is plain to see.
 */
import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const APP = readFileSync(resolve(import.meta.dir, '../../src/app.ts'), 'utf8');

test('no edge step is hand-nested inside another', () => {
  expect(APP).not.toMatch(/\bwith[A-Z]\w*\(\s*with[A-Z]\w*\(/);
});

test('the edge steps are one list, outermost first, composed around the routes', () => {
  const list = /const edgeSteps: EdgeStep\[\] = \[([\s\S]*?)\n {2}\];/.exec(APP);
  expect(list).not.toBeNull();
  const steps = [...list![1]!.matchAll(/^\s*(?:\(next\) =>\s*)?(with[A-Z]\w*)\b/gm)].map((m) => m[1]);
  expect(steps).toEqual(['withRequestSpan', 'withRequestIdHeader', 'withSecurityHeaders', 'withHttpMetrics', 'withCors', 'withBodyLimit']);
  expect(APP).toMatch(/edgeSteps\.reduceRight<ScopedHandler>\(\(next, step\) => step\(next\), route\)/);
});
