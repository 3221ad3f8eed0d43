/**
 * Issue 18 item 16: the project documents itself. The README, the deployment READMEs and every file under src/,
 * schema/ and docs/ may only point at files and README sections that exist in this repository: the code used to
 * send readers to a CONTRACT.md and an ARCHITECTURE.md that only existed outside it.
 */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { COMMANDS } from '../../src/cli/main.ts';
import { brokenReferences, documentedFiles, ROOT, unknownCliCommands } from '../helpers/doc-references.ts';

describe('the documentation points inside the repository', () => {
  test('no reference in the README, src/, schema/ or docs/ leads to a missing file or README section', () => {
    const files = documentedFiles();
    expect(files.some((f) => f.endsWith('README.md'))).toBe(true);
    expect(files.some((f) => f.endsWith('src/config.ts'))).toBe(true);
    const broken = brokenReferences(files).map((b) => `${b.file}:${b.line}: ${b.reference}`);
    expect(broken).toEqual([]);
  });

  test('every CLI command the documentation names exists (`bun run cli persisted list` did not)', () => {
    const names = COMMANDS.map((c) => c.name);
    expect(unknownCliCommands(documentedFiles(), names).map((b) => `${b.file}:${b.line}: ${b.reference}`)).toEqual([]);
    const fixture = join(import.meta.dir, 'fixtures', 'doc-references', 'broken.md');
    expect(unknownCliCommands([fixture], names).map((b) => b.reference)).toEqual(['cli persisted purge', 'cli frobnicate']);
  });

  test('the checker finds what used to be there: outside documents, missing paths, links and sections', () => {
    const dir = join(import.meta.dir, 'fixtures', 'doc-references');
    const broken = brokenReferences([join(dir, 'broken.md'), join(dir, 'broken.ts')], ROOT).map((b) => b.reference);
    expect(broken).toEqual([
      '../shared/ARCHITECTURE.md',
      'CONTRACT.md',
      'src/guard/no-such-file.ts',
      './missing-link.md',
      'README "No such section"',
      'CONTRACT.md',
      'ARCHITECTURE.md',
      'schema/persisted/none.graphql',
    ]);
  });
});
