/**
 * Our enums mapped to the BLDS (Building and Land Development Specification, permitdata.org) "Mapped" vocabularies,
 * kept in one place so the exports and docs/blds.md (checked by test/cli/export-blds.test.ts) cannot drift apart.
 */
import type { InspectionResult } from '../db/schema/inspections.ts';
import type { PermitStatus, PermitType, WorkClass } from '../db/schema/permits.ts';

/** BLDS StatusCurrentMapped / StatusPreviousMapped. BLDS has no "expired" or "rejected": both end the permit, as a cancellation does. */
export const STATUS_MAPPED: Readonly<Record<PermitStatus, string>> = {
  SUBMITTED: 'Application Accepted',
  UNDER_REVIEW: 'In Review',
  CORRECTIONS_REQUIRED: 'In Review',
  APPROVED: 'In Review',
  ISSUED: 'Permit Issued',
  INSPECTIONS: 'Inspection Phase',
  FINALED: 'Permit Finaled',
  EXPIRED: 'Permit Cancelled',
  REJECTED: 'Permit Cancelled',
  WITHDRAWN: 'Permit Cancelled',
};

/**
 * BLDS PermitTypeMapped (Building, Demolition, Electrical, Mechanical, Plumbing, Roof, Fence, Grading, Pool/Spa).
 * Fire and sign permits have no BLDS value and BLDS has no "Other": their mapped value is left empty (null), and
 * `PermitType` still says what they are.
 */
export const PERMIT_TYPE_MAPPED: Readonly<Record<PermitType, string | null>> = {
  BUILDING: 'Building',
  ELECTRICAL: 'Electrical',
  PLUMBING: 'Plumbing',
  MECHANICAL: 'Mechanical',
  DEMOLITION: 'Demolition',
  GRADING: 'Grading',
  FIRE: null,
  SIGN: null,
};

/** BLDS PermitTypeDesc: the longer description of our permit type. */
export const PERMIT_TYPE_DESC: Readonly<Record<PermitType, string>> = {
  BUILDING: 'Building permit',
  ELECTRICAL: 'Electrical permit',
  PLUMBING: 'Plumbing permit',
  MECHANICAL: 'Mechanical (HVAC) permit',
  DEMOLITION: 'Demolition permit',
  GRADING: 'Grading permit',
  FIRE: 'Fire protection permit',
  SIGN: 'Sign permit',
};

/** BLDS WorkClassMapped: new construction or work on an existing structure. */
export const WORK_CLASS_MAPPED: Readonly<Record<WorkClass, string>> = {
  NEW: 'New',
  ADDITION: 'Existing',
  ALTERATION: 'Existing',
  REPAIR: 'Existing',
  DEMOLITION: 'Existing',
  OTHER: 'Existing',
};

/**
 * BLDS PermitClass / PermitClassMapped come from the parcel's zoning category (our only property-type fact):
 * residential zoning is Residential, everything else Non-Residential.
 */
export const RESIDENTIAL_ZONING_CATEGORY = 'residential';
export const PERMIT_CLASS_MAPPED = { residential: 'Residential', other: 'Non-Residential' } as const;
export const permitClassMapped = (zoningCategory: string) =>
  zoningCategory === RESIDENTIAL_ZONING_CATEGORY ? PERMIT_CLASS_MAPPED.residential : PERMIT_CLASS_MAPPED.other;

/**
 * BLDS inspection ResultMapped (Passed, Rejected, Partial, Cancelled, OK for Service). A pending inspection has no
 * result yet and BLDS has no value for one: its mapped value is left empty (null), `Result` says `PENDING`.
 */
export const INSPECTION_RESULT_MAPPED: Readonly<Record<InspectionResult, string | null>> = {
  PENDING: null,
  PASS: 'Passed',
  FAIL: 'Rejected',
  PARTIAL: 'Partial',
  CANCELLED: 'Cancelled',
};

/** BLDS InspTypeMapped for the inspection types clients use (free text; matched case-insensitively, by first word). */
const INSPECTION_TYPE_WORDS: ReadonlyArray<[RegExp, string]> = [
  [/^(footing|foundation)/i, 'Foundation'],
  [/^framing/i, 'Framing'],
  [/electric/i, 'Electrical'],
  [/plumb/i, 'Plumbing'],
  [/mechanical|hvac/i, 'Mechanical'],
  [/insulation/i, 'Insulation'],
  [/^final/i, 'Final'],
];
export function inspectionTypeMapped(type: string): string {
  return INSPECTION_TYPE_WORDS.find(([re]) => re.test(type))?.[1] ?? 'Other';
}

/** True for the inspection that closes a permit (BLDS `Final`). */
export const isFinalInspectionType = (type: string) => inspectionTypeMapped(type) === 'Final';

/** BLDS dates are `YYYY-MM-DD`, the calendar day in the jurisdiction's time zone. */
export function bldsDate(d: Date | null, timeZone: string): string | null {
  if (!d) return null;
  // en-CA formats as YYYY-MM-DD
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

/** BLDS yes/no flags (`Final`, `ReInspection`): BLDS spells them `Yes` and `No`. */
export const bldsFlag = (b: boolean) => (b ? 'Yes' : 'No');

/** BLDS `ReInspection` says whether a reinspection is NEEDED: after a rejected or partial result, not before a result. */
export const reinspectionNeeded = (result: InspectionResult) => result === 'FAIL' || result === 'PARTIAL';
