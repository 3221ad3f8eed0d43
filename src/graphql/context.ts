/**
 * What every resolver receives: the request scope, the services and the unit of work, and helpers to reach them
 * (the operation's batch loaders, the principal the access policy vouched for).
 */
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
  /** Batch loaders for this operation (loadersOf builds them on first use; they cache what they load). */
  loaders?: Loaders;
}

/** The operation's batch loaders, built on first use: an operation that reads nothing through them builds none. */
export function loadersOf(ctx: GraphQLContext): Loaders {
  ctx.loaders ??= createLoaders(ctx.database.db, ctx.scope.principal);
  return ctx.loaders;
}

/** Resolvers behind `@requiresScopes` always have a principal; this narrows the type. */
export function principalOf(ctx: GraphQLContext): Principal {
  const p = ctx.scope.principal;
  if (!p) throw new Error('resolver reached without a principal: the access policy is misconfigured');
  return p;
}
