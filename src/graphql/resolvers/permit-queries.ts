/** Thin resolvers of the permit and parcel queries: the reads and their tenancy checks live in domain/, shaped here. */
import { parcelsGeoJSON, permitsGeoJSON } from '../../domain/geojson.ts';
import { countPermits, getPermit, listPermits, type Page, type PermitFilter } from '../../domain/permit-reads.ts';
import { encodeCursor } from '../../domain/pagination.ts';
import { permitStats, type StatsGrouping } from '../../domain/stats.ts';
import { parcelByApn, parcelsInBBox } from '../../domain/parcel-reads.ts';
import type { BBox } from '../../domain/bbox.ts';
import { principalOf, type GraphQLContext } from '../context.ts';

const connection = <T extends { id: string }>(page: Page<T>, encode: (id: string) => string, extra: object = {}) => ({
  edges: page.nodes.map((node) => ({ node, cursor: encode(node.id) })),
  pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor, startCursor: page.startCursor },
  ...extra,
});

export const permitQueryResolvers = {
  Query: {
    permitStatus: (_: unknown, args: { number: string }, ctx: GraphQLContext) => ctx.services.permitStatus(args.number),
    permit: (_: unknown, args: { number: string }, ctx: GraphQLContext) => getPermit(ctx.database.db, principalOf(ctx), args.number),
    permits: async (
      _: unknown,
      args: { filter?: PermitFilter | null; first?: number | null; after?: string | null },
      ctx: GraphQLContext,
    ) => {
      const p = principalOf(ctx);
      const page = await listPermits(ctx.database.db, p, args.filter, args.first, args.after);
      return connection(page, encodeCursor, { totalCount: () => countPermits(ctx.database.db, p, args.filter) });
    },
    permitsGeoJSON: (
      _: unknown,
      args: { bbox: BBox; filter?: PermitFilter | null; first?: number | null; after?: string | null },
      ctx: GraphQLContext,
    ) => permitsGeoJSON(ctx.database.db, principalOf(ctx), args.bbox, args.filter, args.first, args.after),
    parcelsGeoJSON: (_: unknown, args: { bbox: BBox; first?: number | null; after?: string | null }, ctx: GraphQLContext) =>
      parcelsGeoJSON(ctx.database.db, principalOf(ctx), args.bbox, args.first, args.after),
    parcels: async (_: unknown, args: { bbox: BBox; first?: number | null; after?: string | null }, ctx: GraphQLContext) =>
      connection(await parcelsInBBox(ctx.database.db, principalOf(ctx), args.bbox, args.first, args.after), encodeCursor),
    parcel: (_: unknown, args: { apn: string }, ctx: GraphQLContext) => parcelByApn(ctx.database.db, principalOf(ctx), args.apn),
    permitStats: (_: unknown, args: { groupBy: StatsGrouping; from?: Date | null; to?: Date | null }, ctx: GraphQLContext) =>
      permitStats(ctx.database.db, principalOf(ctx), args.groupBy, args.from, args.to),
    submissionReceipt: (_: unknown, args: { id: string }, ctx: GraphQLContext) => ctx.services.submissionReceipt(principalOf(ctx), args.id),
  },
};
