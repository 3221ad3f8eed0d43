/**
 * The published price list (docs/cost.md) as markdown, built from the SDL's @cost / @listSize and the rate-limit
 * budgets, so the document a client reads cannot drift from what the limiter charges (test/guard/cost-doc.test.ts).
 */
import type { GraphQLSchema } from 'graphql';
import { fieldPricesOf } from './field-prices.ts';
import type { RateLimitPolicy } from './rate-limit.ts';

const cell = (v: unknown) => (v === undefined ? '' : Array.isArray(v) ? v.map((x) => `\`${x}\``).join(', ') : String(v));

/** One row per priced field, sorted by `Type.field`. */
export function priceTable(schema: GraphQLSchema): string {
  const rows = [...fieldPricesOf(schema)].sort(([a], [b]) => a.localeCompare(b));
  return [
    '| field | `@cost` weight | `assumedSize` | `slicingArguments` | `sizedFields` | `requireOneSlicingArgument` |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      ([f, p]) =>
        `| \`${f}\` | ${cell(p.weight)} | ${cell(p.assumedSize)} | ${cell(p.slicingArguments)} | ${cell(p.sizedFields)} | ${cell(p.requireOneSlicingArgument)} |`,
    ),
  ].join('\n');
}

/** One row per role: the `RateLimit-Policy` a client of it receives. */
export function budgetTable(policies: Readonly<Record<string, RateLimitPolicy>>): string {
  return [
    '| role | burst (`q`) | tokens per second | `RateLimit-Policy` |',
    '|---|---|---|---|',
    ...Object.entries(policies).map(
      ([role, p]) => `| ${role} | ${p.burst} | ${p.ratePerSec} | \`"${role}";q=${p.burst};w=${Math.ceil(p.burst / p.ratePerSec)}\` |`,
    ),
  ].join('\n');
}
