/**
 * Business input rules: every string has a maximum length, every list a maximum size, numbers are bounded.
 * GraphQL types check shape; these check meaning. Failures become BAD_USER_INPUT naming the field path.
 */
import { z } from 'zod';
import { badInputs, type InputIssue } from '../errors.ts';
import { INSPECTION_RESULTS } from '../db/schema/inspections.ts';
import { CONDITION_KINDS } from '../db/schema/permit-conditions.ts';
import { PERMIT_STATUSES, PERMIT_TYPES, WORK_CLASSES } from '../db/schema/permits.ts';

export const LIMITS = {
  description: 4000,
  name: 200,
  email: 254,
  phone: 32,
  reason: 1000,
  notes: 4000,
  inspectionType: 100,
  checklistItems: 100,
  checklistItem: 200,
  idempotencyKey: 128,
  apn: 64,
  maxValuation: 10_000_000_000,
  /** Longest inspection window a contractor may book. */
  maxWindowHours: 24 * 14,
  /** Longest span one `inspectionAvailability` query may cover. */
  maxAvailabilityDays: 31,
} as const;

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

export const applicantSchema = z.object({
  name: text(LIMITS.name),
  email: z.string().trim().max(LIMITS.email, `must be at most ${LIMITS.email} characters`).pipe(z.email('must be an email address')),
  phone: z
    .string()
    .trim()
    .max(LIMITS.phone, `must be at most ${LIMITS.phone} characters`)
    .regex(/^\+?[0-9 ()\-.]{5,}$/, 'must be a phone number'),
});

const valuation = z.number().finite().min(0, 'must be zero or more').max(LIMITS.maxValuation, `must be at most ${LIMITS.maxValuation}`);

export const submitPermitSchema = z
  .object({
    parcelId: z.uuid('must be a parcel id').nullish(),
    apn: text(LIMITS.apn).nullish(),
    permitType: z.enum(PERMIT_TYPES),
    workClass: z.enum(WORK_CLASSES),
    description: text(LIMITS.description),
    valuation,
    applicant: applicantSchema,
  })
  // contractors know the APN from the county's records, not our ids: either names the parcel, never both
  .refine((v) => (v.parcelId == null) !== (v.apn == null), 'must name the parcel by exactly one of parcelId and apn');
export type SubmitPermitInput = z.infer<typeof submitPermitSchema>;

export const amendPermitSchema = z
  .object({
    description: text(LIMITS.description).optional(),
    valuation: valuation.optional(),
    workClass: z.enum(WORK_CLASSES).optional(),
    applicant: applicantSchema.optional(),
  })
  .refine((v) => Object.values(v).some((x) => x !== undefined), 'must change at least one field');
export type AmendPermitInput = z.infer<typeof amendPermitSchema>;

export const idempotencyKeySchema = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(LIMITS.idempotencyKey, `must be at most ${LIMITS.idempotencyKey} characters`)
  .regex(/^[A-Za-z0-9._:-]+$/, 'may contain only letters, digits and . _ : -');

export const scheduleInspectionSchema = z
  .object({
    inspectionType: text(LIMITS.inspectionType),
    // Dates from the DateTime scalar, or ISO strings from the outbox on replay
    windowStart: z.coerce.date(),
    windowEnd: z.coerce.date(),
  })
  .refine((v) => v.windowEnd > v.windowStart, { message: 'must be after windowStart', path: ['windowEnd'] })
  .refine((v) => v.windowEnd.getTime() - v.windowStart.getTime() <= LIMITS.maxWindowHours * 3600_000, {
    message: `must be at most ${LIMITS.maxWindowHours} hours after windowStart`,
    path: ['windowEnd'],
  });
export type ScheduleInspectionInput = z.infer<typeof scheduleInspectionSchema>;

export const inspectionResultSchema = z.object({
  result: z.enum(INSPECTION_RESULTS).exclude(['PENDING']),
  notes: text(LIMITS.notes).nullish(),
  checklist: z
    .array(
      z.object({
        item: text(LIMITS.checklistItem),
        passed: z.boolean(),
        notes: text(LIMITS.notes).nullish(),
      }),
    )
    .max(LIMITS.checklistItems, `must have at most ${LIMITS.checklistItems} items`)
    .nullish(),
});
export type InspectionResultInput = z.infer<typeof inspectionResultSchema>;

export const reasonSchema = text(LIMITS.reason).nullish();

/** A correction or condition a clerk or inspector attaches to a permit: what it asks and which moves it blocks. */
export const permitConditionSchema = z.object({
  kind: z.enum(CONDITION_KINDS),
  description: text(LIMITS.description),
  blocks: z
    .array(z.enum(PERMIT_STATUSES))
    .min(1, 'must name at least one status the item blocks')
    .max(PERMIT_STATUSES.length, `must have at most ${PERMIT_STATUSES.length} statuses`),
});

/** The contractor's answer to a correction or condition. */
export const conditionResponseSchema = text(LIMITS.notes);

/** Why an inspection is cancelled: required, so the audit log and the contractor see it. */
export const cancelReasonSchema = text(LIMITS.reason);

/** Arguments of `inspectionAvailability`: a short, ordered span (an answer stays small). */
export const availabilitySchema = z
  .object({ inspectionType: text(LIMITS.inspectionType), from: z.coerce.date(), to: z.coerce.date() })
  .refine((v) => v.to > v.from, { message: 'must be after from', path: ['to'] })
  .refine((v) => v.to.getTime() - v.from.getTime() <= LIMITS.maxAvailabilityDays * 86_400_000, {
    message: `must be at most ${LIMITS.maxAvailabilityDays} days after from`,
    path: ['to'],
  });

/** Every problem of `value` under `root`, each with its field path (`input.applicant.email`). */
function issuesOf(r: z.ZodSafeParseResult<unknown>, root: string): InputIssue[] {
  if (r.success) return [];
  return r.error.issues.map((i) => ({ field: [root, ...i.path.map(String)].join('.'), message: i.message }));
}

/** Parses `value` or throws BAD_USER_INPUT naming every problem, each with its path under `root`. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, root: string): z.infer<S> {
  return parseInputs({ [root]: [schema, value] } as Record<string, readonly [S, unknown]>)[root] as z.infer<S>;
}

/**
 * Parses several arguments of one call together (`{ idempotencyKey: [schema, raw], input: [schema, raw] }`), so a
 * bad key and a bad input are reported in the same answer, not one round trip each.
 */
export function parseInputs<T extends Record<string, readonly [z.ZodType, unknown]>>(parts: T): { [K in keyof T]: z.infer<T[K][0]> } {
  const out: Record<string, unknown> = {};
  const issues: InputIssue[] = [];
  for (const [root, [schema, value]] of Object.entries(parts)) {
    const r = schema.safeParse(value);
    if (r.success) out[root] = r.data;
    else issues.push(...issuesOf(r, root));
  }
  const [first, ...rest] = issues;
  if (first) throw badInputs([first, ...rest]);
  return out as { [K in keyof T]: z.infer<T[K][0]> };
}
