/**
 * Issue 20, errors: the schema tells a client each input's limits before it is refused. Every description named
 * here must state the limit the domain enforces (src/domain/inputs.ts LIMITS), so the two cannot drift apart.
 */
import { describe, expect, test } from 'bun:test';
import type { GraphQLInputObjectType, GraphQLObjectType } from 'graphql';
import { LIMITS } from '../../src/domain/inputs.ts';
import { buildSchema } from '../../src/graphql/schema.ts';

const schema = buildSchema();
const inputField = (type: string, field: string) => (schema.getType(type) as GraphQLInputObjectType).getFields()[field]?.description ?? '';
const argument = (field: string, arg: string) =>
  (schema.getType('Mutation') as GraphQLObjectType).getFields()[field]?.args.find((a) => a.name === arg)?.description ?? '';

describe('input constraints are in the schema descriptions', () => {
  test.each([
    ['submitPermit idempotencyKey', argument('submitPermit', 'idempotencyKey'), ['8', String(LIMITS.idempotencyKey)]],
    ['scheduleInspection idempotencyKey', argument('scheduleInspection', 'idempotencyKey'), ['8', String(LIMITS.idempotencyKey)]],
    ['transitionPermit reason', argument('transitionPermit', 'reason'), [String(LIMITS.reason)]],
    ['SubmitPermitInput.description', inputField('SubmitPermitInput', 'description'), [String(LIMITS.description)]],
    ['SubmitPermitInput.valuation', inputField('SubmitPermitInput', 'valuation'), ['0', String(LIMITS.maxValuation)]],
    ['AmendPermitInput.description', inputField('AmendPermitInput', 'description'), [String(LIMITS.description)]],
    ['AmendPermitInput.valuation', inputField('AmendPermitInput', 'valuation'), [String(LIMITS.maxValuation)]],
    ['ApplicantInput.name', inputField('ApplicantInput', 'name'), [String(LIMITS.name)]],
    ['ApplicantInput.email', inputField('ApplicantInput', 'email'), [String(LIMITS.email)]],
    ['ApplicantInput.phone', inputField('ApplicantInput', 'phone'), [String(LIMITS.phone)]],
    ['ScheduleInspectionInput.inspectionType', inputField('ScheduleInspectionInput', 'inspectionType'), [String(LIMITS.inspectionType)]],
    ['ScheduleInspectionInput.windowEnd', inputField('ScheduleInspectionInput', 'windowEnd'), [String(LIMITS.maxWindowHours)]],
    ['InspectionResultInput.notes', inputField('InspectionResultInput', 'notes'), [String(LIMITS.notes)]],
    ['InspectionResultInput.checklist', inputField('InspectionResultInput', 'checklist'), [String(LIMITS.checklistItems)]],
    ['ChecklistItemInput.item', inputField('ChecklistItemInput', 'item'), [String(LIMITS.checklistItem)]],
  ] as const)('%s states its limits', (_name, description, limits) => {
    for (const limit of limits) expect(description).toMatch(new RegExp(`\\b${limit}\\b`));
  });
});
