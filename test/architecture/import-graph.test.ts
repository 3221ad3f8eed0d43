/**
 * The layering a newcomer can rely on: data flows db ← domain ← (auth, audit, guard, import, ops, resilience, services)
 * ← graphql ← http ← app, and nothing imports upward or in a circle. Read from the source's own import lines.
 */
import { expect, test } from 'bun:test';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dir, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports (static, re-exports, type-only and dynamic) of each file, as absolute paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) =>
      resolve(dirname(file), m[1]!),
    );
    graph.set(file, targets);
  }
  return graph;
}

/** The layer of a file: its folder under src/, or the file's name for top-level files. */
const layerOf = (file: string) => relative(SRC, file).split('/')[0]!.replace(/\.ts$/, '');

/** Lower layers first; a file may import its own layer and the layers before it. */
const ORDER: string[][] = [
  ['errors', 'logger', 'request-scope'],
  ['db'],
  ['domain'],
  ['config', 'auth', 'audit', 'events', 'guard', 'import', 'ops', 'resilience', 'services'],
  ['graphql'],
  ['http'],
  ['app', 'bootstrap', 'main', 'cli'],
];
const rank = (layer: string) => ORDER.findIndex((l) => l.includes(layer));

test('every file under src/ belongs to a known layer', () => {
  const unknown = [...importGraph().keys()].map(layerOf).filter((l) => rank(l) < 0);
  expect([...new Set(unknown)]).toEqual([]);
});

test('db and domain import nothing from the layers above them', () => {
  const upward: string[] = [];
  for (const [file, targets] of importGraph()) {
    const from = layerOf(file);
    if (from !== 'db' && from !== 'domain') continue;
    for (const t of targets) if (rank(layerOf(t)) > rank(from)) upward.push(`${relative(SRC, file)} → ${relative(SRC, t)}`);
  }
  expect(upward).toEqual([]);
});

test('graphql, http and the middle layers never import the layers above them', () => {
  const upward: string[] = [];
  for (const [file, targets] of importGraph()) {
    const from = layerOf(file);
    // request-scope is a leaf of types the whole tree shares; the audit notes it carries are typed in audit/
    if (from === 'request-scope') continue;
    for (const t of targets) {
      const to = layerOf(t);
      const middle = ORDER[3]!;
      // middle layers are peers of each other (auth may use audit's helpers and the other way round)
      if (middle.includes(from) && middle.includes(to)) continue;
      if (rank(to) > rank(from)) upward.push(`${relative(SRC, file)} → ${relative(SRC, t)}`);
    }
  }
  expect(upward).toEqual([]);
});

test('the import graph has no cycle', () => {
  const graph = importGraph();
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    path.push(file);
    for (const t of graph.get(file) ?? []) {
      if (state.get(t) === 'open')
        cycles.push(
          path
            .slice(path.indexOf(t))
            .concat(t)
            .map((f) => relative(SRC, f))
            .join(' → '),
        );
      else if (!state.has(t)) visit(t);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  expect(cycles).toEqual([]);
});

test('no request-keyed maps: request facts live on the request scope', () => {
  const offenders = sourceFiles(SRC).filter((f) => /WeakMap<\s*Request\b|Map<\s*Request\b/.test(readFileSync(f, 'utf8')));
  expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
});
