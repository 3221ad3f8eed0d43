/**
 * One request's facts, created once at the edge (src/http/open-request-scope.ts) and handed to every step after it:
 * the edge steps and routes as an argument, Yoga as its server context (`context.scope`). Nothing request-scoped
 * is kept anywhere else, so a step never has to find "its" request again.
 */
import type { RequestAudit } from './audit/operation-notes.ts';
import type { Principal } from './domain/principal.ts';

/** Who asked and when: what an audit entry or a log line names. */
export interface RequestFacts {
  requestId: string;
  /** The client's address: the TCP peer, or the address a trusted proxy forwarded. */
  ip: string;
  /** SHA-256 thumbprint of the client certificate a trusted proxy forwarded and vouched for. */
  certThumbprint?: string;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
  /** W3C trace id of the request's span, when tracing is on (src/ops/tracing.ts). */
  traceId?: string;
}

/**
 * The ids a log line names its request by: the request id, and the trace id whenever tracing is on (sampled or not,
 * so that an id from an error or an audit entry finds the line; the logger's mixin knows sampled requests only).
 */
export function logIds(facts: RequestFacts): { requestId: string; traceId?: string } {
  return facts.traceId ? { requestId: facts.requestId, traceId: facts.traceId } : { requestId: facts.requestId };
}

/** A client's rate budget after its last charge: the `RateLimit` headers and `extensions.cost.budget`. */
export interface RateBudget {
  /** The policy's name (the client's role). */
  policy: string;
  /** Bucket capacity in tokens. */
  limit: number;
  /** Whole tokens left. */
  remaining: number;
  /** Tokens added per second. */
  refillPerSecond: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
}

/** What the cost model and the rate limit said of the request's operation (the last one of a batch). */
export interface CostNotes {
  /** Static cost from the SDL's @cost / @listSize (src/guard/query-cost.ts). */
  estimated?: number;
  depth?: number;
  /** Rate-limit tokens charged. */
  tokens?: number;
  budget?: RateBudget;
  /** A limit would have refused this request, but the client is in measure-only mode. */
  wouldRefuse?: boolean;
  /** Which limits would have refused it (`rate`, `cost`, `depth`, `aliases`, `tokens`, …). */
  wouldRefuseBy?: string[];
}

/** A charge of `tokens` (0 when refused) left `budget`: noted for the `RateLimit` headers and `extensions.cost`. */
export function noteCharge(notes: CostNotes, budget: RateBudget, tokens: number): void {
  notes.budget = budget;
  notes.tokens = (notes.tokens ?? 0) + tokens;
}

export interface RequestScope extends RequestFacts {
  /** The TCP peer (never a forwarded header): what `/metrics`' address allowlist checks. */
  peer: string;
  /** Set by authentication from the verified bearer token; null for anonymous requests. */
  principal: Principal | null;
  /** The audit trail's notes on the request's GraphQL operations. */
  audit: RequestAudit;
  /** Operation names and types the request log reports. */
  log: { names: string[]; types: string[] };
  cost: CostNotes;
  /** W3C `traceparent` / `tracestate` forwarded by a trusted proxy (never believed from anyone else). */
  traceparent?: string;
  tracestate?: string;
}

/** Yoga's server context: the scope, and nothing else. */
export interface ServerContext {
  scope: RequestScope;
}

/** A step or route of the HTTP pipeline. */
export type ScopedHandler = (request: Request, scope: RequestScope) => Promise<Response>;

/**
 * The request scope a Yoga server context or GraphQL context carries. Every context this app's Yoga builds starts
 * from the server context the edge passed, so the cast lives here once instead of at every hook that reads it.
 */
export function scopeOf(context: unknown): RequestScope {
  const scope = scopeIfAny(context);
  if (!scope) throw new TypeError('this context carries no request scope: Yoga was called without one');
  return scope;
}

/** The scope, or undefined for a context built without one (a Yoga called directly, as some tests do). */
export function scopeIfAny(context: unknown): RequestScope | undefined {
  return typeof context === 'object' && context !== null ? (context as Partial<ServerContext>).scope : undefined;
}
