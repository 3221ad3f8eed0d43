/**
 * The request scope is read from a Yoga or GraphQL context through one typed accessor (`scopeOf` / `scopeIfAny` in
 * src/request-scope.ts), so no hook re-asserts what a context is with a double cast that the compiler cannot check.
 * Facts of one request or operation live on its scope or its context, not in module-level maps keyed by them.
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

/** Layers that handle requests: a module-level map there keyed by a request or a context holds request facts. */
const REQUEST_LAYERS = ['app.ts', 'auth', 'audit', 'graphql', 'guard', 'http', 'ops', 'resilience', 'events'];
/** `const x = new WeakMap<object, …>`, `new Map<Request, …>`, `new WeakMap<GraphQLContext, …>` at the top level. */
const MODULE_MAP = /^(?:export\s+)?(?:const|let)\s+(\w+)\s*=\s*new\s+(?:Weak)?Map<\s*(object|Request|\w*Context)\s*,/;

test('no module-level map in the request layers is keyed by a request, a context or any object', () => {
  const offenders: string[] = [];
  for (const file of sourceFiles(SRC)) {
    if (!REQUEST_LAYERS.includes(relative(SRC, file).split('/')[0]!)) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const m = MODULE_MAP.exec(line);
        if (m) offenders.push(`${relative(SRC, file)}:${i + 1}: ${m[1]} keyed by ${m[2]}`);
      });
  }
  expect(offenders).toEqual([]);
});
