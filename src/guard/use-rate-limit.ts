/**
 * Per-client rate limit as a Yoga plugin: a token bucket per client id (token `sub`), or per IP for anonymous
 * requests, with budgets per role (src/auth/policy.ts `RATE_LIMITS`). Refusal: HTTP 429, `Retry-After`,
 * `extensions.code = RATE_LIMITED` (errors.ts `rateLimited`).
 *
 * Two charges per operation:
 * 1. `onParams` (before parsing): 1 token, so floods are refused before any parsing or validation work;
 * 2. `onExecute` (after validation, before any resolver): `min(weight(context), burst) - 1` more tokens, where the default
 *    weight grows with the armor cost (`getQueryCost`) — expensive operations spend more budget.
 * Each operation of a batched request is charged separately.
 *
 * The identity must already be on the server context when Yoga parses params (this app passes the request scope,
 * whose principal and address are known before Yoga runs; `identify` reads them).
 *
 * `onBudget` hears the budget left after every charge (the app turns it into `RateLimit` headers and
 * `extensions.cost`); `measureOnly` clients are never refused: `onWouldRefuse` hears what would have been.
 */
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { rateLimited } from '../errors.ts';
import type { RateBudget } from '../request-scope.ts';
import {
  MemoryTokenBucketStore,
  RedisTokenBucketStore,
  type RateLimitPolicy,
  type TakeResult,
  type TokenBucketStore,
} from './rate-limit.ts';

type MaybePromise<T> = T | Promise<T>;
import { getQueryCost } from './use-armor-limits.ts';
import { inSpan } from '../ops/tracing.ts';

/** The operation's Yoga context, whatever the app keeps in it: only `identify` and the hooks below look inside. */
export type RateLimitContext = object;

export interface RateLimitIdentity {
  /** Bucket key, e.g. `sub:client-42` or `ip:203.0.113.7`. */
  key: string;
  /** Role whose policy applies; unknown roles fall back to `anonymous`. */
  role: string;
}

export interface RateLimitOptions {
  /** Budget per role; must contain `anonymous` (used for unknown roles too). Pass the policy file's `RATE_LIMITS`. */
  policies: Record<string, RateLimitPolicy> & { anonymous: RateLimitPolicy };
  /**
   * Who is asking. @default `context.principal.sub` / `.role` when a principal with a `sub` is present, else
   * `ip:${context.clientIp}` with role `anonymous` (requests without any address share the key `ip:unknown`).
   */
  identify?: (context: RateLimitContext) => RateLimitIdentity;
  /** Bucket store; wins over `redisUrl`. @default a Redis store when `redisUrl` is set, else in memory */
  store?: TokenBucketStore;
  /** `REDIS_URL`: share buckets across processes. @default undefined (memory) */
  redisUrl?: string;
  /** Redis key prefix (unique per deployment; per test). @default 'pg:rl:' */
  keyPrefix?: string;
  /** Armor cost worth one extra token in the default `weight`. @default 250 */
  costPerToken?: number;
  /**
   * Tokens an operation costs in total, evaluated after validation. @default
   * `1 + floor(cost / costPerToken)` with the armor cost of the operation (≤ 5000 → at most 21 tokens)
   */
  weight?: (context: RateLimitContext) => number;
  /**
   * Called when the store fails (e.g. Redis down); the request is then charged to a per-process memory bucket
   * instead, so the API stays available with per-instance limits. @default logs nothing
   */
  onStoreError?: (error: unknown) => void;
  /** The budget left after a charge of `tokens`. @default nothing */
  onBudget?: (context: RateLimitContext, budget: RateBudget, tokens: number) => void;
  /** Clients whose refusals are only counted, for rolling out tighter limits. @default nobody */
  measureOnly?: (context: RateLimitContext, who: RateLimitIdentity) => boolean;
  /** A measure-only client went over its budget: what the limit would have refused. @default nothing */
  onWouldRefuse?: (context: RateLimitContext, who: RateLimitIdentity, retryAfterSeconds: number) => void;
}

/** The budget a take left: whole tokens, and the seconds until the bucket is full again. */
export function budgetAfter(role: string, policy: RateLimitPolicy, remaining: number): RateBudget {
  return {
    policy: role,
    limit: policy.burst,
    remaining: Math.max(0, Math.floor(remaining)),
    refillPerSecond: policy.ratePerSec,
    resetSeconds: Math.max(0, Math.ceil((policy.burst - remaining) / policy.ratePerSec)),
  };
}

const defaults: Required<
  Omit<RateLimitOptions, 'policies' | 'store' | 'redisUrl' | 'weight' | 'onBudget' | 'measureOnly' | 'onWouldRefuse'>
> = {
  identify: (context) => {
    const { principal: p, clientIp } = context as { principal?: { sub?: unknown; role?: unknown }; clientIp?: unknown };
    if (p && typeof p.sub === 'string' && p.sub) {
      return { key: `sub:${p.sub}`, role: typeof p.role === 'string' ? p.role : 'anonymous' };
    }
    const ip = typeof clientIp === 'string' && clientIp ? clientIp : 'unknown';
    return { key: `ip:${ip}`, role: 'anonymous' };
  },
  keyPrefix: 'pg:rl:',
  costPerToken: 250,
  onStoreError: () => {},
};

export function useRateLimit(options: RateLimitOptions): Plugin {
  const identify = options.identify ?? defaults.identify;
  const costPerToken = options.costPerToken ?? defaults.costPerToken;
  const onStoreError = options.onStoreError ?? defaults.onStoreError;
  const store: TokenBucketStore =
    options.store ??
    (options.redisUrl
      ? new RedisTokenBucketStore({ url: options.redisUrl, keyPrefix: options.keyPrefix ?? defaults.keyPrefix })
      : new MemoryTokenBucketStore());
  const fallback = new MemoryTokenBucketStore();
  const weight = options.weight ?? ((context: RateLimitContext) => 1 + Math.floor((getQueryCost(context) ?? 0) / costPerToken));

  // `cost` may depend on the policy: an operation never costs more than a full burst (else it could never run).
  /**
   * Charges the bucket; answers whether to refuse (never for a measure-only client) and after how long: at once when
   * there is nothing to charge or the store answered at once (memory), else once the store (Redis) answered.
   */
  const take = (context: RateLimitContext, cost: (policy: RateLimitPolicy) => number): MaybePromise<number | undefined> => {
    const who = identify(context);
    const role = who.role in options.policies ? who.role : 'anonymous';
    const policy = options.policies[role]!;
    const tokens = cost(policy);
    if (!(tokens > 0)) return undefined;
    const decide = (r: TakeResult) => {
      options.onBudget?.(context, budgetAfter(role, policy, r.remaining), r.allowed ? tokens : 0);
      if (r.allowed) return undefined;
      if (options.measureOnly?.(context, who)) {
        options.onWouldRefuse?.(context, who, r.retryAfterSeconds);
        return undefined;
      }
      return r.retryAfterSeconds;
    };
    const local = (e: unknown) => {
      onStoreError(e);
      return fallback.take(who.key, tokens, policy);
    };
    const taken = inSpan('rate_limit', { 'permit_gateway.rate_limit.tokens': tokens }, () => {
      try {
        const r = store.take(who.key, tokens, policy);
        return r instanceof Promise ? r.catch(local) : r;
      } catch (e) {
        return local(e);
      }
    });
    return taken instanceof Promise ? taken.then(decide) : decide(taken);
  };
  const refusal = (retryAfterSeconds: number | undefined, refuse: (result: { errors: GraphQLError[] }) => void) => {
    if (retryAfterSeconds !== undefined) refuse({ errors: [rateLimited(retryAfterSeconds)] });
  };

  return {
    onParams({ context, setResult }) {
      const charged = take(context, () => 1);
      if (charged instanceof Promise) return charged.then((r) => refusal(r, setResult));
      refusal(charged, setResult);
    },
    onExecute({ args, setResultAndStopExecution }) {
      const context = args.contextValue as RateLimitContext;
      const total = weight(context);
      const charged = take(context, (policy) => Math.min(total, policy.burst) - 1);
      if (charged instanceof Promise) return charged.then((r) => refusal(r, setResultAndStopExecution));
      refusal(charged, setResultAndStopExecution);
    },
    async onDispose() {
      await store.close?.();
    },
  };
}
