import type { YogaInitialContext } from 'graphql-yoga';
import type { Database } from '../db/client.ts';
import type { Principal } from '../domain/principal.ts';
import type { AuditedWork } from '../audit/audited-work.ts';
import type { TransparencyLog } from '../audit/transparency/transparency-log.ts';
import type { RequestScope } from '../request-scope.ts';
import type { AppServices } from '../services.ts';
import { createLoaders, type Loaders } from './loaders.ts';

export interface GraphQLContext extends YogaInitialContext {
  /** The request's scope (Yoga's server context): id, address, certificate, principal, audit notes. */
  scope: RequestScope;
  database: Database;
  services: AppServices;
  /** Signed checkpoints and consistency proofs of the audit log. */
  transparency: TransparencyLog;
  /**
   * The unit of work mutations make their changes in. The audit trail replaces it for each mutation with one that
   * writes the operation's entry in the same transaction; without an audit trail changes carry no entry.
   */
  work: AuditedWork;
}

const loaders = new WeakMap<object, Loaders>();

/** Loaders are built on first use, after the principal is known. */
export function loadersOf(ctx: GraphQLContext): Loaders {
  let l = loaders.get(ctx);
  if (!l) {
    l = createLoaders(ctx.database.db, ctx.scope.principal);
    loaders.set(ctx, l);
  }
  return l;
}

/** Resolvers behind `@requiresScopes` always have a principal; this narrows the type. */
export function principalOf(ctx: GraphQLContext): Principal {
  const p = ctx.scope.principal;
  if (!p) throw new Error('resolver reached without a principal: the access policy is misconfigured');
  return p;
}
