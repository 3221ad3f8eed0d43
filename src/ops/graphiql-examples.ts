/**
 * GraphiQL's preset tabs: the example operations of docs/examples/, one tab per role, so a new user starts from
 * operations that work for their token instead of an empty editor. Read once at start; none when the folder is absent
 * (e.g. a deployment that ships only src/).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const EXAMPLES_DIR = fileURLToPath(new URL('../../docs/examples/', import.meta.url));

/** The analyst first: the one role whose token also opens the schema explorer. */
const FIRST = 'analyst.graphql';

export function graphiqlExampleTabs(dir = EXAMPLES_DIR): { query: string }[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort((a, b) => (a === FIRST ? -1 : b === FIRST ? 1 : a.localeCompare(b)));
  return files.map((f) => ({ query: readFileSync(`${dir}${f}`, 'utf8') }));
}
