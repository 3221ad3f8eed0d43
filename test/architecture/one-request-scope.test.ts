/**
 * The request scope is read from a Yoga or GraphQL context through one typed accessor (`scopeOf` / `scopeIfAny` in
 * src/request-scope.ts), so no hook re-asserts what a context is with a double cast that the compiler cannot check.
 */
import { expect, test } from 'bun:test';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dir, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** `as unknown as ServerContext`, `as unknown as Partial<ServerContext>`, `as unknown as GuardContext`, … */
const CONTEXT_CAST = /as\s+unknown\s+as\s+(?:Partial<\s*)?\w*Context\b/;

test('no src/ file casts a value to a context type through unknown', () => {
  const offenders: string[] = [];
  for (const file of sourceFiles(SRC)) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (CONTEXT_CAST.test(line)) offenders.push(`${relative(SRC, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  expect(offenders).toEqual([]);
});
