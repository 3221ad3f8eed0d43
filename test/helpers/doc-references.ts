/** Finds references to files, directories and README sections that do not exist (test/ops/doc-references.test.ts). */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dir, '..', '..');
const TOP_DIRS = ['src', 'schema', 'test', 'docs', 'deploy', 'bench', 'drizzle', 'patches', '.ci'];

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === '.git' || name === '.data') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** The documentation a reader follows: every markdown file, and everything under src/, schema/ and docs/. */
export function documentedFiles(root = ROOT): string[] {
  const md = walk(root).filter((f) => f.endsWith('.md') && !relative(root, f).startsWith('test/'));
  const code = ['src', 'schema', 'docs']
    .flatMap((d) => walk(join(root, d)))
    .filter((f) => /\.(ts|graphql|md|json|sql|toml|conf|txt)$/.test(f));
  return [...new Set([...md, ...code])].sort();
}

export interface BrokenReference {
  file: string;
  line: number;
  reference: string;
}

const headingsOf = (markdown: string) => new Set([...markdown.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)].map((m) => m[1]!));
function isIgnoredOutput(path: string, root: string): boolean {
  if (!existsSync(dirname(path))) return false;
  return Bun.spawnSync(['git', 'check-ignore', '-q', path], { cwd: root }).exitCode === 0;
}

/** Placeholders and globs are patterns, not paths. */
const isPattern = (p: string) => /[*<>{}$…]|\.\.\.|XXX/.test(p);

/** Every reference in `files` to a file, directory or README section that does not exist under `root`. */
export function brokenReferences(files: string[], root = ROOT): BrokenReference[] {
  const readme = existsSync(join(root, 'README.md')) ? readFileSync(join(root, 'README.md'), 'utf8') : '';
  const sections = headingsOf(readme);
  const broken: BrokenReference[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const rel = relative(root, file);
    const isMarkdown = file.endsWith('.md');
    text.split('\n').forEach((line, i) => {
      const seen = new Set<string>();
      const report = (reference: string) => {
        if (!seen.has(reference)) broken.push({ file: rel, line: i + 1, reference });
        seen.add(reference);
      };
      // a git-ignored path is an output the text says is written there (bench/results/latest.json)
      const exists = (p: string, base = root) => existsSync(resolve(base, p)) || isIgnoredOutput(resolve(base, p), root);
      // documents outside the repository, however they are written
      for (const m of line.matchAll(/(?:\.\.\/)+shared\b[\w./-]*|\/work\/shared\b[\w./-]*/g)) report(m[0]);
      // any markdown file named: next to the file, or from the repository root
      for (const m of line.matchAll(/(?<![\w/.:-])((?:\.{1,2}\/)?[\w./-]*?[\w-]+\.md)\b/g)) {
        const p = m[1]!;
        if (!isPattern(p) && !/^https?:/.test(p) && !exists(p, dirname(file)) && !exists(p)) report(p);
      }
      // paths from the repository root: src/…, schema/…, test/…, docs/…
      const top = new RegExp(`(?<![\\w./-])((?:${TOP_DIRS.map((d) => d.replace('.', '\\.')).join('|')})/[\\w./@-]*)`, 'g');
      for (const m of line.matchAll(top)) {
        const p = m[1]!.replace(/[.,:;]+$/, '');
        if (!isPattern(p) && !isPattern(line.slice(m.index! + m[0].length, m.index! + m[0].length + 1)) && !exists(p)) report(p);
      }
      if (isMarkdown) {
        // relative links and paths: [text](target), ./x, ../x
        for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          const target = m[1]!.split('#')[0]!;
          if (target && !/^[a-z]+:/i.test(target) && !exists(target, dirname(file))) report(target);
        }
        for (const m of line.matchAll(/(?<![\w/.-])(\.{1,2}\/[\w./-]+)/g)) {
          if (!isPattern(m[1]!) && !exists(m[1]!.replace(/[.,:;]+$/, ''), dirname(file))) report(m[1]!);
        }
      }
      // README "Section": a heading of the README
      for (const m of line.matchAll(/README(?:'s)? \\?"([^"\\]+)\\?"/g)) if (!sections.has(m[1]!)) report(`README "${m[1]}"`);
    });
  }
  return broken;
}

/** Every `bun run cli …` / `` `cli …`` mention whose command is not one of `commandNames` (e.g. `clients create`). */
export function unknownCliCommands(files: string[], commandNames: readonly string[], root = ROOT): BrokenReference[] {
  const groups = new Set(commandNames.map((n) => n.split(' ')[0]!));
  const unknown: BrokenReference[] = [];
  for (const file of files) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const m of line.matchAll(/(?:bun run cli|`cli) ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?/g)) {
          const [first, second] = [m[1]!, m[2]];
          // `cli jurisdictions holidays add`: two words may also name a group of three-word commands
          const known =
            commandNames.includes(first) ||
            (groups.has(first) && (!second || commandNames.some((n) => n === `${first} ${second}` || n.startsWith(`${first} ${second} `))));
          if (!known && first !== 'help')
            unknown.push({ file: relative(root, file), line: i + 1, reference: `cli ${second ? `${first} ${second}` : first}` });
        }
      });
  }
  return unknown;
}
