import type { YogaInitialContext } from 'graphql-yoga';
import type { Database } from '../db/client.ts';
import type { Principal } from '../domain/principal.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import type { AppServices } from '../services.ts';
import { createLoaders, type Loaders } from './loaders.ts';
import type { CommitHook, OneStatementUnit, UnitOfWork } from './unit-of-work.ts';

export interface GraphQLContext extends YogaInitialContext {
  /** Set by the access-policy plugin from the verified bearer token; null for anonymous requests. */
  principal: Principal | null;
  meta: RequestMeta;
  database: Database;
  services: AppServices;
  unitOfWork: UnitOfWork;
  /** For a change made in one statement: the commit hooks join it as parts (src/graphql/unit-of-work.ts). */
  oneStatement: OneStatementUnit;
  /** Plugins add hooks that must run inside each mutation's transaction (the audit entry). */
  commitHooks: CommitHook[];
  /**
   * Set by the audit plugin: the operation is being queued in the outbox; returns its audit entry so it can be
   * chained when the work is persisted (and not now).
   */
  deferAudit?: () => Record<string, unknown>;
}

const loaders = new WeakMap<object, Loaders>();

/** Loaders are built on first use, after the principal is known. */
export function loadersOf(ctx: GraphQLContext): Loaders {
  let l = loaders.get(ctx);
  if (!l) {
    l = createLoaders(ctx.database.db, ctx.principal);
    loaders.set(ctx, l);
  }
  return l;
}

/** Resolvers behind `@requiresScopes` always have a principal; this narrows the type. */
export function principalOf(ctx: GraphQLContext): Principal {
  if (!ctx.principal) throw new Error('resolver reached without a principal: the access policy is misconfigured');
  return ctx.principal;
}
