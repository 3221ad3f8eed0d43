/** Thin resolvers of permit corrections and conditions: domain rules in the audited unit of work (`ctx.work`). */
import type { Permit } from '../../db/schema/permits.ts';
import { addPermitCondition, answerPermitCondition, type ConditionChange, resolvePermitCondition } from '../../domain/permit-conditions.ts';
import { loadersOf, principalOf, type GraphQLContext } from '../context.ts';

/** Audited as the permit and the item it touched. */
const touched = (c: ConditionChange) => [c.permitNum, `condition:${c.condition.id}`];

export const conditionResolvers = {
  Mutation: {
    addPermitCondition: async (_: unknown, args: { permitNumber: string; input: unknown }, ctx: GraphQLContext) =>
      (await ctx.work.transaction((tx) => addPermitCondition(tx, principalOf(ctx), args.permitNumber, args.input), touched)).condition,
    answerPermitCondition: async (_: unknown, args: { conditionId: string; response: unknown }, ctx: GraphQLContext) =>
      (await ctx.work.transaction((tx) => answerPermitCondition(tx, principalOf(ctx), args.conditionId, args.response), touched)).condition,
    resolvePermitCondition: async (_: unknown, args: { conditionId: string }, ctx: GraphQLContext) =>
      (await ctx.work.transaction((tx) => resolvePermitCondition(tx, principalOf(ctx), args.conditionId), touched)).condition,
  },
  Permit: {
    // the permit itself was read through the visibility rule, so its items may be shown
    conditions: (p: Permit, _: unknown, ctx: GraphQLContext) => loadersOf(ctx).conditions.load(p.id),
  },
};
