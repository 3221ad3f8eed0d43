/** Thin resolvers of who the caller is and of client management: rules in src/auth/client-registry.ts, writes audited. */
import { registerClient, revokeClient } from '../../auth/client-registry.ts';
import { principalOf, type GraphQLContext } from '../context.ts';

export const identityResolvers = {
  Query: {
    me: (_: unknown, __: unknown, ctx: GraphQLContext) => {
      const p = principalOf(ctx);
      return {
        clientId: p.clientId,
        role: p.role,
        scopes: [...p.scopes].sort(),
        jurisdiction: p.jurisdiction,
        contractor: p.contractor ?? null,
      };
    },
  },
  Mutation: {
    registerClient: async (
      _: unknown,
      args: {
        input: { clientId: string; role: string; jurisdiction: string; contractorLicense?: string | null; certThumbprint?: string | null };
      },
      ctx: GraphQLContext,
    ) => {
      const manager = { jurisdiction: principalOf(ctx).jurisdiction };
      const { client, secret } = await ctx.work.transaction(
        (tx) => registerClient(tx, args.input, manager),
        (r) => [`client:${r.client.clientId}`],
      );
      return {
        clientId: client.clientId,
        role: client.role,
        jurisdiction: client.jurisdictionId,
        contractor: client.contractorLicense,
        clientSecret: secret,
      };
    },
    revokeClient: async (_: unknown, args: { clientId: string }, ctx: GraphQLContext) => {
      const manager = { jurisdiction: principalOf(ctx).jurisdiction };
      const done = await ctx.work.transaction(
        (tx) => revokeClient(tx, args.clientId, manager),
        // nothing revoked (unknown, or another jurisdiction's client): the audit names nothing as affected
        (revoked) => (revoked ? [`client:${args.clientId}`] : []),
      );
      if (done) ctx.services.revocations.markRevoked(args.clientId);
      return done;
    },
  },
};
