/**
 * The cost contract clients see, from the notes the cost rule and the rate limit left on the request scope:
 * - every GraphQL result's `extensions.cost`: `{ estimated, tokens, budget: { policy, limit, remaining,
 *   refillPerSecond, resetSeconds } }` (the static cost the SDL's @cost / @listSize give, docs/cost.md);
 * - the response's IETF `RateLimit-Policy: "<role>";q=<burst>;w=<seconds to refill>` and
 *   `RateLimit: "<role>";r=<tokens left>;t=<seconds until full>` (draft-ietf-httpapi-ratelimit-headers), set by
 *   {@link setRateLimitHeaders} where the router answers any route that charged the bucket (src/app.ts).
 * A 429 keeps its `Retry-After` (errors.ts `rateLimited`); these headers come beside it.
 */
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type CostNotes, type RateBudget, scopeIfAny } from '../request-scope.ts';

/** The `extensions.cost` object, or undefined when neither cost nor budget is known (e.g. a body that is not JSON). */
export function costExtension(notes: CostNotes): Record<string, unknown> | undefined {
  if (notes.estimated === undefined && !notes.budget && !notes.wouldRefuse) return undefined;
  return {
    ...(notes.estimated !== undefined ? { estimated: notes.estimated } : {}),
    ...(notes.tokens !== undefined ? { tokens: notes.tokens } : {}),
    ...(notes.budget ? { budget: notes.budget } : {}),
    ...(notes.wouldRefuse ? { wouldRefuse: true, wouldRefuseBy: notes.wouldRefuseBy ?? [] } : {}),
  };
}

/** A structured-field string may hold these only; roles are `[a-z_]`, this keeps a header valid whatever comes. */
const sfString = (s: string) => `"${s.replace(/[^A-Za-z0-9_.:-]/g, '_')}"`;

/** The IETF `RateLimit-Policy` and `RateLimit` headers of a budget. */
export function setRateLimitHeaders(headers: Headers, b: RateBudget): void {
  const window = Math.ceil(b.limit / b.refillPerSecond);
  headers.set('RateLimit-Policy', `${sfString(b.policy)};q=${b.limit};w=${window}`);
  headers.set('RateLimit', `${sfString(b.policy)};r=${b.remaining};t=${b.resetSeconds}`);
}

export function useCostReport(): Plugin {
  return {
    onResultProcess({ result, setResult, serverContext }) {
      const notes = scopeIfAny(serverContext)?.cost;
      const cost = notes && costExtension(notes);
      if (!cost) return;
      const withCost = (r: unknown) =>
        r && typeof r === 'object' && !(Symbol.asyncIterator in r)
          ? { ...(r as ExecutionResult), extensions: { ...(r as ExecutionResult).extensions, cost } }
          : r;
      setResult((Array.isArray(result) ? result.map(withCost) : withCost(result)) as typeof result);
    },
  };
}
