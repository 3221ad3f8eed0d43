/**
 * Lines stay within the width biome.json configures (140). Biome's formatter wraps code but never comments, so
 * this holds comments in src/ to it; string literals the formatter cannot break are left to review.
 */
import { expect, test } from 'bun:test';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dir, '../../src');
const LINE_WIDTH = (JSON.parse(readFileSync(resolve(import.meta.dir, '../../biome.json'), 'utf8')) as { formatter: { lineWidth: number } })
  .formatter.lineWidth;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

test('no comment line in src/ is wider than the configured line width', () => {
  const wide: string[] = [];
  for (const file of sourceFiles(SRC)) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.length > LINE_WIDTH && /^\s*(?:\/\/|\/\*|\*)/.test(line)) wide.push(`${relative(SRC, file)}:${i + 1}`);
      });
  }
  expect(wide).toEqual([]);
});
