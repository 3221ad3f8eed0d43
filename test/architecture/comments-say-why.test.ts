/**
 * Every file in src/ opens with a comment saying why it exists, so a newcomer learns a file's place before its code.
 * Comments say why, in a sentence; measurements (timings, throughput, before → after figures) belong in commit
 * messages and bench/, where they are dated and can be run again, not in src/ where they go stale unnoticed.
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

/** The comment text of a line: a JSDoc or block line (`*`, `/**`), or what follows `//`. */
function commentOf(line: string): string | null {
  const block = /^\s*(?:\/\*\*?|\*)(.*)$/.exec(line);
  if (block) return block[1]!;
  const trailing = /(?:^|\s)\/\/(.*)$/.exec(line);
  return trailing ? trailing[1]! : null;
}

/** What a measurement looks like in prose. */
const MEASUREMENT = [
  /\bmeasured\s*(?::|on\b|with\b)/i, // "measured on this machine …", "measured: …"
  /\d\s*µs\b/, // timings in microseconds
  /\d\s*ms of CPU\b/i,
  /\d[\d,.]*\s*(?:rps|tps|req\/s|ops\/s)\b/i, // throughput
  /\d[\d,]*\s+(?:[a-z-]+\s+){0,3}a second\b/i, // "85 notifying inserts a second"
  /\bitems a second\b/i,
  /\d[\d,]*\s*(?:→|->)\s*[\d,~…]+/, // before → after figures
];

test('no comment in src/ carries a measurement', () => {
  const offenders: string[] = [];
  for (const file of sourceFiles(SRC)) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const comment = commentOf(line);
        if (comment && MEASUREMENT.some((m) => m.test(comment))) offenders.push(`${relative(SRC, file)}:${i + 1}: ${comment.trim()}`);
      });
  }
  expect(offenders).toEqual([]);
});

test('every file in src/ opens with a comment saying why it exists', () => {
  const bare = sourceFiles(SRC)
    .filter((file) => !/^\s*(?:\/\*|\/\/)/.test(readFileSync(file, 'utf8')))
    .map((file) => relative(SRC, file));
  expect(bare).toEqual([]);
});
