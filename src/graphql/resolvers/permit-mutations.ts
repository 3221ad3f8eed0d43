/** Thin mutation resolvers: run the domain rule in the audited unit of work (`ctx.work`), naming the affected records. */
import type { PermitStatus } from '../../db/schema/permits.ts';
import { assertReadyToFinal, recordInspectionResult } from '../../domain/inspections.ts';
import { amendPermit, transitionPermit } from '../../domain/permit-writes.ts';
import { principalOf, type GraphQLContext } from '../context.ts';

export const permitMutationResolvers = {
  Mutation: {
    submitPermit: (_: unknown, args: { input: unknown; idempotencyKey: unknown }, ctx: GraphQLContext) =>
      ctx.services.submitPermit(ctx.work, principalOf(ctx), args.input, args.idempotencyKey),
    amendPermit: (_: unknown, args: { number: string; expectedVersion: number; input: unknown }, ctx: GraphQLContext) =>
      ctx.work.transaction(
        (tx) => amendPermit(tx, principalOf(ctx), args.number, args.expectedVersion, args.input),
        (p) => [p.permitNum],
      ),
    transitionPermit: async (_: unknown, args: { number: string; to: PermitStatus; reason?: unknown }, ctx: GraphQLContext) => {
      const permit = await ctx.work.transaction(
        (tx) => transitionPermit(tx, principalOf(ctx), args.number, args.to, args.reason, assertReadyToFinal),
        (p) => [p.permitNum],
      );
      await ctx.services.rememberStatus(permit);
      return permit;
    },
    scheduleInspection: (_: unknown, args: { permitNumber: string; input: unknown; idempotencyKey: unknown }, ctx: GraphQLContext) =>
      ctx.services.scheduleInspection(ctx.work, principalOf(ctx), args.permitNumber, args.input, args.idempotencyKey),
    recordInspectionResult: (_: unknown, args: { inspectionId: string; input: unknown }, ctx: GraphQLContext) =>
      ctx.work.transaction(
        (tx) => recordInspectionResult(tx, principalOf(ctx), args.inspectionId, args.input),
        (i) => [`inspection:${i.id}`],
      ),
  },
};
