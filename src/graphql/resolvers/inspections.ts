/** Thin resolvers of inspection slots, moves and cancellations: domain rules in the audited unit of work (`ctx.work`). */
import type { Inspection } from '../../db/schema/inspections.ts';
import { cancelInspection, rescheduleInspection } from '../../domain/inspection-changes.ts';
import { inspectionAvailability } from '../../domain/inspection-slots.ts';
import { principalOf, type GraphQLContext } from '../context.ts';

/** Audited as the permit and the inspection it touched. */
const touched = (f: { permitNum: string; inspection: Inspection }) => [f.permitNum, `inspection:${f.inspection.id}`];

/** An inspection queued in the outbox during an outage has none of the stored columns yet. */
type MaybeQueued = Partial<Inspection> & { queued?: boolean };

export const inspectionResolvers = {
  Query: {
    inspectionAvailability: (
      _: unknown,
      args: { permitNumber: string; inspectionType: string; from: Date; to: Date },
      ctx: GraphQLContext,
    ) => inspectionAvailability(ctx.database.db, principalOf(ctx), args.permitNumber, args),
  },
  Mutation: {
    rescheduleInspection: async (_: unknown, args: { inspectionId: string; input: unknown }, ctx: GraphQLContext) =>
      (await ctx.work.transaction((tx) => rescheduleInspection(tx, principalOf(ctx), args.inspectionId, args.input), touched)).inspection,
    cancelInspection: async (_: unknown, args: { inspectionId: string; reason: unknown }, ctx: GraphQLContext) =>
      (await ctx.work.transaction((tx) => cancelInspection(tx, principalOf(ctx), args.inspectionId, args.reason), touched)).inspection,
  },
  Inspection: {
    requestedAt: (i: MaybeQueued) => i.createdAt ?? new Date(),
    final: (i: MaybeQueued) => Boolean(i.isFinal),
    reInspection: (i: MaybeQueued) => Boolean(i.isReinspection),
    inspector: (i: MaybeQueued) => i.inspector ?? i.assignedInspector ?? null,
    cancelReason: (i: MaybeQueued) => i.cancelReason ?? null,
    cancelledAt: (i: MaybeQueued) => i.cancelledAt ?? null,
  },
};
