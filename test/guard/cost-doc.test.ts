/**
 * Issue 25: the published price list (docs/cost.md) is the one the limiter uses. Its tables are generated from the
 * SDL's @cost / @listSize and the role budgets; `UPDATE_DOCS=1` rewrites them.
 */
import { describe, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RATE_LIMITS } from '../../src/auth/policy.ts';
import { buildSchema } from '../../src/graphql/schema.ts';
import { budgetTable, priceTable } from '../../src/guard/price-table.ts';

const DOC = join(import.meta.dir, '..', '..', 'docs', 'cost.md');
const section = (name: string, body: string) => `<!-- ${name}:start -->\n${body}\n<!-- ${name}:end -->`;
const pattern = (name: string) => new RegExp(`<!-- ${name}:start -->[\\s\\S]*?<!-- ${name}:end -->`);

describe('docs/cost.md', () => {
  test("publishes exactly the SDL's prices and the role budgets", () => {
    let doc = readFileSync(DOC, 'utf8');
    const expected = doc
      .replace(pattern('prices'), section('prices', priceTable(buildSchema())))
      .replace(pattern('budgets'), section('budgets', budgetTable(RATE_LIMITS)));
    if (process.env.UPDATE_DOCS === '1' && expected !== doc) {
      writeFileSync(DOC, expected);
      doc = expected;
    }
    expect(doc).toBe(expected);
    expect(doc).toContain('| `Query.permitsGeoJSON` | 3 | 5000 |');
  });
});
