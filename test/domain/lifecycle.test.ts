/** The permit state machine (src/domain/lifecycle.ts), checked over every pair of statuses. */
import { describe, expect, test } from 'bun:test';
import { GraphQLError, type GraphQLEnumType } from 'graphql';
import { PERMIT_STATUSES, type PermitStatus } from '../../src/db/schema/permits.ts';
import { AMENDABLE, checkConditions, checkTransition, isTerminal, TRANSITIONS } from '../../src/domain/lifecycle.ts';
import { buildSchema } from '../../src/graphql/schema.ts';

const ALL_SCOPES = new Set(['permits:review', 'permits:submit', 'inspections:record']);

/** The lifecycle as the issue describes it, written out independently of TRANSITIONS. */
const EXPECTED: Record<PermitStatus, PermitStatus[]> = {
  SUBMITTED: ['UNDER_REVIEW', 'REJECTED', 'WITHDRAWN'],
  UNDER_REVIEW: ['CORRECTIONS_REQUIRED', 'APPROVED', 'REJECTED', 'WITHDRAWN'],
  CORRECTIONS_REQUIRED: ['UNDER_REVIEW', 'EXPIRED', 'WITHDRAWN'],
  APPROVED: ['ISSUED', 'EXPIRED', 'WITHDRAWN'],
  ISSUED: ['INSPECTIONS', 'EXPIRED'],
  INSPECTIONS: ['FINALED', 'EXPIRED'],
  FINALED: [],
  EXPIRED: [],
  REJECTED: [],
  WITHDRAWN: [],
};

const allowedIn = (from: PermitStatus, to: PermitStatus) => TRANSITIONS[from].some((r) => r.to === to);

function thrown(fn: () => void): GraphQLError | null {
  try {
    fn();
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(GraphQLError);
    return e as GraphQLError;
  }
}

describe('TRANSITIONS', () => {
  test('covers exactly the contract statuses, which are also the GraphQL enum', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...PERMIT_STATUSES].sort());
    const gqlEnum = buildSchema().getType('PermitStatus') as GraphQLEnumType;
    expect(
      gqlEnum
        .getValues()
        .map((v) => v.name)
        .sort(),
    ).toEqual([...PERMIT_STATUSES].sort());
    expect<string[]>([...PERMIT_STATUSES].sort()).toEqual(
      [
        'SUBMITTED',
        'UNDER_REVIEW',
        'CORRECTIONS_REQUIRED',
        'APPROVED',
        'ISSUED',
        'INSPECTIONS',
        'FINALED',
        'EXPIRED',
        'REJECTED',
        'WITHDRAWN',
      ].sort(),
    );
  });

  test('matches the lifecycle written out independently', () => {
    for (const from of PERMIT_STATUSES) {
      expect({ from, to: [...new Set(TRANSITIONS[from].map((r) => r.to))].sort() }).toEqual({ from, to: [...EXPECTED[from]].sort() });
    }
  });

  test('every target is a known status, no self-loops, every rule names a scope', () => {
    for (const from of PERMIT_STATUSES) {
      for (const r of TRANSITIONS[from]) {
        expect(PERMIT_STATUSES).toContain(r.to);
        expect(r.to).not.toBe(from);
        expect(ALL_SCOPES.has(r.scope)).toBe(true);
      }
    }
  });

  test('terminal statuses are exactly those without way out; every status is reachable from SUBMITTED', () => {
    expect(PERMIT_STATUSES.filter(isTerminal).sort()).toEqual(['EXPIRED', 'FINALED', 'REJECTED', 'WITHDRAWN']);
    const seen = new Set<PermitStatus>(['SUBMITTED']);
    const queue: PermitStatus[] = ['SUBMITTED'];
    while (queue.length) for (const r of TRANSITIONS[queue.shift()!]) if (!seen.has(r.to)) seen.add(r.to), queue.push(r.to);
    expect([...seen].sort()).toEqual([...PERMIT_STATUSES].sort());
  });

  test('only SUBMITTED and CORRECTIONS_REQUIRED are amendable', () => {
    expect([...AMENDABLE].sort()).toEqual(['CORRECTIONS_REQUIRED', 'SUBMITTED']);
  });
});

describe('checkTransition over every pair of statuses', () => {
  for (const from of PERMIT_STATUSES) {
    for (const to of PERMIT_STATUSES) {
      const allowed = allowedIn(from, to);
      test(`${from} → ${to}: ${allowed ? 'allowed' : 'refused'}`, () => {
        const e = thrown(() => checkTransition(from, to, ALL_SCOPES));
        if (allowed) {
          expect(e).toBeNull();
          return;
        }
        expect(e?.extensions.code).toBe('BAD_USER_INPUT');
        expect(e?.extensions.field).toBe('to');
        expect(e?.message).toContain(from);
        expect(e?.message).toContain(to);
      });
    }
  }
});

describe('scopes of a legal transition', () => {
  test('each allowed pair needs one of its rules’ scopes, otherwise FORBIDDEN naming it', () => {
    for (const from of PERMIT_STATUSES) {
      for (const rule of TRANSITIONS[from]) {
        const scopes = TRANSITIONS[from].filter((r) => r.to === rule.to).map((r) => r.scope);
        for (const s of scopes) expect(thrown(() => checkTransition(from, rule.to, new Set([s])))).toBeNull();
        const others = new Set([...ALL_SCOPES].filter((s) => !scopes.includes(s)));
        const e = thrown(() => checkTransition(from, rule.to, others));
        expect(e?.extensions.code).toBe('FORBIDDEN');
        for (const s of scopes) expect(e?.message).toContain(s);
      }
    }
  });

  test('an illegal pair is BAD_USER_INPUT whatever the scopes (no scope oracle)', () => {
    for (const scopes of [new Set<string>(), ALL_SCOPES]) {
      expect(thrown(() => checkTransition('SUBMITTED', 'ISSUED', scopes))?.extensions.code).toBe('BAD_USER_INPUT');
    }
  });

  test('clerks review, contractors withdraw, inspectors final', () => {
    const clerk = new Set(['permits:read', 'permits:read:pii', 'permits:review']);
    const contractor = new Set(['permits:submit', 'permits:read:own', 'inspections:schedule']);
    const inspector = new Set(['permits:read', 'inspections:record']);
    expect(thrown(() => checkTransition('SUBMITTED', 'UNDER_REVIEW', clerk))).toBeNull();
    expect(thrown(() => checkTransition('SUBMITTED', 'UNDER_REVIEW', contractor))?.extensions.code).toBe('FORBIDDEN');
    expect(thrown(() => checkTransition('UNDER_REVIEW', 'WITHDRAWN', contractor))).toBeNull();
    expect(thrown(() => checkTransition('UNDER_REVIEW', 'WITHDRAWN', clerk))?.extensions.code).toBe('FORBIDDEN');
    expect(thrown(() => checkTransition('INSPECTIONS', 'FINALED', inspector))).toBeNull();
    expect(thrown(() => checkTransition('APPROVED', 'ISSUED', inspector))?.extensions.code).toBe('FORBIDDEN');
  });
});

describe('checkConditions', () => {
  const item = { id: 'c-1', kind: 'CORRECTION', description: 'Provide structural calcs', blocks: ['APPROVED' as const] };
  test('an unresolved item refuses exactly the moves it names, with BAD_USER_INPUT naming it', () => {
    expect(() => checkConditions('APPROVED', [item])).toThrow(/correction c-1 \("Provide structural calcs"\) is unresolved/);
    try {
      checkConditions('APPROVED', [item], 'permitNumber');
    } catch (e) {
      expect((e as GraphQLError).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'permitNumber' });
    }
    expect(() => checkConditions('REJECTED', [item])).not.toThrow();
    expect(() => checkConditions('APPROVED', [])).not.toThrow();
  });
});
