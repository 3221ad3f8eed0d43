/** Compliance API over the audit log: thin, the work is in src/audit/. */
import type { AuditEntryRow } from '../../db/schema/audit.ts';
import { getAuditEntry, listAuditEntries, proofFor, type AuditFilter } from '../../audit/audit-queries.ts';
import { verifyAuditTrail } from '../../audit/verify-trail.ts';
import { ProofRequestError } from '../../audit/transparency/transparency-log.ts';
import { allSigningKeys } from '../../auth/signing-keys.ts';
import { badInput } from '../../errors.ts';
import { principalOf, type GraphQLContext } from '../context.ts';

export const auditResolvers = {
  Query: {
    auditLog: (_: unknown, args: { first?: number | null; after?: string | null; filter?: AuditFilter | null }, ctx: GraphQLContext) =>
      listAuditEntries(ctx.database.db, principalOf(ctx), args.filter, args.first, args.after),
    auditEntry: (_: unknown, args: { seq: number }, ctx: GraphQLContext) => getAuditEntry(ctx.database.db, principalOf(ctx), args.seq),
    auditVerification: async (_: unknown, __: unknown, ctx: GraphQLContext) => {
      const keys = await allSigningKeys(ctx.database.db);
      const r = await verifyAuditTrail(ctx.database.db, { publicKeys: { keys } });
      return {
        ok: r.ok,
        size: r.size,
        headHash: r.headHash,
        firstBadSeq: r.firstBadSeq ?? null,
        reason: r.reason ?? null,
        checkpointsChecked: r.checkpointsMatched,
        verifiedAt: new Date(),
      };
    },
    auditCheckpoint: (_: unknown, __: unknown, ctx: GraphQLContext) => ctx.transparency.checkpointNote(),
    auditConsistency: async (_: unknown, args: { fromSize: number; toSize: number }, ctx: GraphQLContext) => {
      try {
        return await ctx.transparency.consistencyProof(args.fromSize, args.toSize);
      } catch (err) {
        if (err instanceof ProofRequestError) throw badInput(err.field, err.message);
        throw err;
      }
    },
  },
  AuditEntry: {
    proof: (row: AuditEntryRow, _: unknown, ctx: GraphQLContext) => proofFor(ctx.database.db, row.seq),
  },
};
