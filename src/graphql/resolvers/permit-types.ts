/** Field resolvers of Permit and its children: row → public shape, children through DataLoaders. */
import type { ChecklistItem, Inspection } from '../../db/schema/inspections.ts';
import type { Parcel } from '../../db/schema/parcels.ts';
import type { Permit, PermitStatusChange } from '../../db/schema/permits.ts';
import type { Contractor } from '../../db/schema/contractors.ts';
import { permitClassMapped } from '../../domain/blds-vocabulary.ts';
import { pageSize } from '../../domain/pagination.ts';
import { hasScope } from '../../domain/principal.ts';
import { loadersOf, type GraphQLContext } from '../context.ts';

export const permitTypeResolvers = {
  Permit: {
    number: (p: Permit) => p.permitNum,
    status: (p: Permit) => p.statusCurrent,
    valuation: (p: Permit) => p.estProjectCost,
    submittedAt: (p: Permit) => p.appliedDate,
    issuedAt: (p: Permit) => p.issuedDate,
    completedAt: (p: Permit) => p.completedDate,
    expiresOn: (p: Permit) => p.expiresDate ?? null,
    masterPermitNumber: (p: Permit) => p.masterPermitNum ?? null,
    parcel: (p: Permit, _: unknown, ctx: GraphQLContext) => loadersOf(ctx).parcel.load(p.parcelId),
    // BLDS PermitClass is the parcel's zoning category, read with the parcel (as the BLDS export and OGC fill it)
    permitClass: async (p: Permit, _: unknown, ctx: GraphQLContext) => (await loadersOf(ctx).parcel.load(p.parcelId))?.zoningCategory,
    permitClassMapped: async (p: Permit, _: unknown, ctx: GraphQLContext) => {
      const parcel = await loadersOf(ctx).parcel.load(p.parcelId);
      return parcel ? permitClassMapped(parcel.zoningCategory) : null;
    },
    contractor: (p: Permit, _: unknown, ctx: GraphQLContext) => loadersOf(ctx).contractor.load(p.contractorId),
    inspections: async (p: Permit, args: { first?: number | null }, ctx: GraphQLContext) =>
      (await loadersOf(ctx).inspections.load(p.id)).slice(0, pageSize(args.first)),
    statusHistory: (p: Permit, _: unknown, ctx: GraphQLContext) => loadersOf(ctx).history.load(p.id),
    // personal data: clerks (pii scope), or the contractor whose permit it is (only own permits are visible to it)
    applicant: (p: Permit, _: unknown, { scope: { principal } }: GraphQLContext) =>
      hasScope(principal, 'permits:read:pii') || (principal?.contractor && hasScope(principal, 'permits:read:own'))
        ? { name: p.applicantName, email: p.applicantEmail, phone: p.applicantPhone }
        : null,
  },
  PermitStatusChange: {
    from: (h: PermitStatusChange) => h.fromStatus,
    to: (h: PermitStatusChange) => h.toStatus,
  },
  Parcel: {
    location: (p: Parcel) => ({ type: 'Point', coordinates: [p.longitude, p.latitude] }),
  },
  Contractor: {
    licenseExpiresOn: (c: Contractor) => String(c.licenseExpiresOn),
  },
  Inspection: {
    checklist: (i: Inspection & { queued?: boolean }, _: unknown, ctx: GraphQLContext) =>
      i.queued ? [] : loadersOf(ctx).checklist.load(i.id),
    queued: (i: { queued?: boolean }) => Boolean(i.queued),
  },
  ChecklistItem: {
    notes: (c: ChecklistItem) => c.notes,
  },
};
