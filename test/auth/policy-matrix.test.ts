/**
 * Issue 3, acceptance 1: a role × root-field matrix generated from the central policy (ROLE_SCOPES) and the
 * SDL rules (fieldRule), run over real HTTP. Which roles are allowed is never hand-picked: every field of the
 * sample operation (root and selections) is checked against the policy, and the server must agree:
 *   allowed   → no UNAUTHENTICATED / FORBIDDEN (domain errors such as NOT_FOUND or BAD_USER_INPUT are fine)
 *   no token  → 401 UNAUTHENTICATED, no data (except operations made only of @public fields)
 *   refused   → 403 FORBIDDEN, no data, `extensions.fields` naming the refused field path(s)
 * The sample table only supplies arguments and a small selection per root field; a root field without a
 * sample fails the test, so new operations cannot slip past the matrix.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { isObjectType, parse, TypeInfo, visit, visitWithTypeInfo, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { DEMO_CLIENTS } from '../../src/auth/demo-clients.ts';
import { fieldRule, ROLE_SCOPES, ROLES, ruleSatisfied, type Role } from '../../src/auth/policy.ts';
import { buildSchema } from '../../src/graphql/schema.ts';
import { startTestServer, type GqlResult, type TestServer } from '../helpers/server.ts';

// every request may run argon2 or start servers; shared CI machines are slow
setDefaultTimeout(60_000);

const NO_UUID = '00000000-0000-4000-8000-000000000000';
const WORLD = '{ minLon: -180, minLat: -90, maxLon: 180, maxLat: 90 }';
const RUN = Date.now().toString(36);

/** Arguments and a minimal selection per root field (the operation is `query|mutation { <sample> }`). */
const SAMPLES: Record<'Query' | 'Mutation', Record<string, string>> = {
  Query: {
    permitStatus: `permitStatus(number: "DC-BLD-1900-000001") { number status }`,
    permit: `permit(number: "DC-BLD-1900-000001") { number status }`,
    permits: `permits(first: 1) { totalCount edges { node { number } } }`,
    permitsGeoJSON: `permitsGeoJSON(bbox: ${WORLD})`,
    parcels: `parcels(bbox: ${WORLD}, first: 1) { edges { node { id apn } } }`,
    parcelsGeoJSON: `parcelsGeoJSON(bbox: ${WORLD}, first: 1)`,
    parcel: `parcel(apn: "000-000-00") { id apn address }`,
    permitStats: `permitStats(groupBy: STATUS) { key count }`,
    auditLog: `auditLog(first: 1) { edges { node { seq hash } } }`,
    auditEntry: `auditEntry(seq: 1) { seq hash }`,
    auditVerification: `auditVerification { ok size }`,
    auditCheckpoint: `auditCheckpoint`,
    auditConsistency: `auditConsistency(fromSize: 1, toSize: 1)`,
    submissionReceipt: `submissionReceipt(id: "${NO_UUID}") { id state }`,
    me: `me { clientId role scopes jurisdiction }`,
    webhooks: `webhooks { id url events }`,
    inspectionAvailability: `inspectionAvailability(permitNumber: "DC-BLD-1900-000001", inspectionType: "Final",
      from: "2030-01-07T00:00:00Z", to: "2030-01-08T00:00:00Z") { start end remaining }`,
    webhookDeliveries: `webhookDeliveries(webhookId: "${NO_UUID}", first: 1) { edges { node { id state } } }`,
  },
  Mutation: {
    submitPermit: `submitPermit(idempotencyKey: "matrix-${RUN}", input: { parcelId: "${NO_UUID}", permitType: BUILDING,
      workClass: NEW, description: "matrix", valuation: 1000, applicant: { name: "A B", email: "a@example.org", phone: "+1 555 000 0000" } })
      { receipt { id state } }`,
    amendPermit: `amendPermit(number: "DC-BLD-1900-000001", expectedVersion: 1, input: { description: "x" }) { number version }`,
    transitionPermit: `transitionPermit(number: "DC-BLD-1900-000001", to: WITHDRAWN) { number status }`,
    scheduleInspection: `scheduleInspection(permitNumber: "DC-BLD-1900-000001", idempotencyKey: "matrix-${RUN}",
      input: { inspectionType: "Final", windowStart: "2030-01-01T09:00:00Z", windowEnd: "2030-01-01T10:00:00Z" }) { id }`,
    recordInspectionResult: `recordInspectionResult(inspectionId: "${NO_UUID}", input: { result: PASS }) { id result }`,
    rescheduleInspection: `rescheduleInspection(inspectionId: "${NO_UUID}",
      input: { inspectionType: "Final", windowStart: "2030-01-07T16:00:00Z", windowEnd: "2030-01-07T18:00:00Z" }) { id }`,
    cancelInspection: `cancelInspection(inspectionId: "${NO_UUID}", reason: "matrix") { id result }`,
    addPermitCondition: `addPermitCondition(permitNumber: "DC-BLD-1900-000001",
      input: { kind: CORRECTION, description: "matrix", blocks: [APPROVED] }) { id state }`,
    answerPermitCondition: `answerPermitCondition(conditionId: "${NO_UUID}", response: "matrix") { id state }`,
    resolvePermitCondition: `resolvePermitCondition(conditionId: "${NO_UUID}") { id state }`,
    registerClient: `registerClient(input: { clientId: "matrix-${RUN}", role: gis_vendor, jurisdiction: "demo-city" }) { clientId }`,
    revokeClient: `revokeClient(clientId: "matrix-nobody-${RUN}")`,
    registerWebhook: `registerWebhook(input: { url: "http://127.0.0.1/matrix", events: [PERMIT_STATUS_CHANGED] }) { secret webhook { id } }`,
    deleteWebhook: `deleteWebhook(id: "${NO_UUID}")`,
  },
};

/**
 * Domain answers an allowed caller may get for these samples (nothing about access).
 */
const DOMAIN_CODES = new Set(['NOT_FOUND', 'BAD_USER_INPUT', 'CONFLICT']);

interface Case {
  root: 'Query' | 'Mutation';
  field: string;
  document: string;
}

function cases(schema: GraphQLSchema): Case[] {
  const out: Case[] = [];
  for (const root of ['Query', 'Mutation'] as const) {
    const type = root === 'Query' ? schema.getQueryType() : schema.getMutationType();
    for (const field of Object.keys(type!.getFields())) {
      const sample = SAMPLES[root][field];
      out.push({ root, field, document: sample ? `${root === 'Query' ? 'query' : 'mutation'} { ${sample} }` : '' });
    }
  }
  return out;
}

/**
 * What the policy says about a document for a set of scopes (null: no token): the field paths it refuses
 * and whether any of them needs authentication. Walks every field with TypeInfo, rules from fieldRule().
 */
function policyVerdict(schema: GraphQLSchema, document: string, scopes: ReadonlySet<string> | null) {
  const typeInfo = new TypeInfo(schema);
  const refused: string[] = [];
  let unauthenticated = false;
  const path: string[] = [];
  visit(
    parse(document),
    visitWithTypeInfo(typeInfo, {
      Field: {
        enter(node) {
          path.push(node.alias?.value ?? node.name.value);
          if (node.name.value.startsWith('__')) return;
          const parent = typeInfo.getParentType();
          const def = typeInfo.getFieldDef();
          if (!parent || !def || !isObjectType(parent)) throw new Error(`cannot resolve ${path.join('.')}`);
          const verdict = ruleSatisfied(fieldRule(parent as GraphQLObjectType, def as never), scopes);
          if (verdict === 'unauthenticated') unauthenticated = true;
          if (verdict !== 'ok') refused.push(path.join('.'));
        },
        leave() {
          path.pop();
        },
      },
    }),
  );
  return { allowed: refused.length === 0, refused, unauthenticated };
}

const clientOfRole = (role: Role) => {
  const c = DEMO_CLIENTS.find((x) => x.role === role);
  if (!c) throw new Error(`no demo client with role ${role}`);
  return c.client_id;
};

let t: TestServer;
const schema = buildSchema();
const tokens = new Map<Role, string>();

beforeAll(async () => {
  t = await startTestServer();
  for (const role of ROLES) tokens.set(role, await t.token(clientOfRole(role)));
}, 120_000);
afterAll(() => t?.stop());

/** POST /graphql; waits out a rate limit (429 + Retry-After) instead of treating it as an answer. */
async function ask(document: string, token?: string, headers?: Record<string, string>): Promise<GqlResult<any>> {
  for (let attempt = 0; ; attempt++) {
    const r = await t.gql(document, undefined, token, headers);
    if (r.status !== 429 || attempt >= 5) return r;
    await Bun.sleep(Number(r.headers.get('retry-after') ?? '1') * 1000);
  }
}

const codes = (r: GqlResult<any>) => (r.body.errors ?? []).map((e) => e.extensions?.code);

describe('policy matrix (generated from ROLE_SCOPES and the SDL rules)', () => {
  const all = cases(schema);

  test('every root Query/Mutation field has a sample operation, and the contract’s roles all exist', () => {
    expect(all.filter((c) => !c.document).map((c) => `${c.root}.${c.field}`)).toEqual([]);
    expect(all.length).toBeGreaterThanOrEqual(17);
    expect([...ROLES].sort()).toEqual(['admin', 'analyst', 'clerk', 'compliance', 'contractor', 'gis_vendor', 'inspector']);
  });

  test('the policy is not trivially open or closed: every protected root field is allowed to some role and refused to another', () => {
    for (const c of all.filter((x) => x.document)) {
      const anonymous = policyVerdict(schema, c.document, null);
      if (anonymous.allowed) continue; // @public
      const verdicts = ROLES.map((role) => policyVerdict(schema, c.document, new Set(ROLE_SCOPES[role])).allowed);
      expect({ field: c.field, someAllowed: verdicts.some(Boolean) }).toEqual({ field: c.field, someAllowed: true });
      if (c.field !== 'me')
        expect({ field: c.field, someRefused: verdicts.some((v) => !v) }).toEqual({ field: c.field, someRefused: true });
    }
  });

  for (const c of cases(schema)) {
    describe(`${c.root}.${c.field}`, () => {
      test('no token → 401 UNAUTHENTICATED, no data (unless the operation is all @public)', async () => {
        expect(c.document).not.toBe('');
        const expected = policyVerdict(schema, c.document, null);
        const r = await ask(c.document);
        if (expected.allowed) {
          expect(r.status).toBe(200);
          expect(codes(r).filter((x) => !DOMAIN_CODES.has(x))).toEqual([]);
          expect(r.body.data?.[c.field]).toBeDefined();
          return;
        }
        expect(expected.unauthenticated).toBe(true);
        expect(r.status).toBe(401);
        expect(codes(r)).toContain('UNAUTHENTICATED');
        expect(r.body.data ?? null).toBeNull();
        expect(r.headers.get('www-authenticate')).toStartWith('Bearer');
      });

      for (const role of ROLES) {
        test(`${role}`, async () => {
          const expected = policyVerdict(schema, c.document, new Set(ROLE_SCOPES[role]));
          const r = await ask(c.document, tokens.get(role));
          if (expected.allowed) {
            expect({ role, status: r.status }).toEqual({ role, status: 200 });
            const unexpected = (r.body.errors ?? []).filter((e) => !DOMAIN_CODES.has(e.extensions?.code));
            expect({ role, unexpected }).toEqual({ role, unexpected: [] });
            if (!r.body.errors) expect(r.body.data?.[c.field]).toBeDefined();
          } else {
            expect({ role, status: r.status }).toEqual({ role, status: 403 });
            expect(codes(r)).toEqual(['FORBIDDEN']);
            expect(r.body.data ?? null).toBeNull();
            const fields: string[] = r.body.errors![0]!.extensions!.fields;
            expect(fields.length).toBeGreaterThan(0);
            // every path the server names is one the policy refuses, and a refused root field is named itself
            for (const f of fields) expect(expected.refused).toContain(f);
            if (expected.refused.includes(c.field)) expect(fields).toContain(c.field);
          }
        });
      }
    });
  }

  test('status codes hold for plain application/json clients too (not only graphql-response+json)', async () => {
    const refusedForGis = SAMPLES.Query.auditVerification!;
    for (const accept of ['application/json', 'application/graphql-response+json', '*/*']) {
      const anon = await ask(`{ ${refusedForGis} }`, undefined, { accept });
      expect({ accept, status: anon.status }).toEqual({ accept, status: 401 });
      const gis = await ask(`{ ${refusedForGis} }`, tokens.get('gis_vendor'), { accept });
      expect({ accept, status: gis.status }).toEqual({ accept, status: 403 });
      expect(gis.body.errors?.[0]?.extensions?.fields).toEqual(['auditVerification']);
    }
  });

  test('nested refusal: a gis_vendor asking for applicant data is refused as a whole, naming the nested path', async () => {
    const r = await ask(`{ permits(first: 1) { edges { node { number applicant { email } } } } }`, tokens.get('gis_vendor'));
    expect(r.status).toBe(403);
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors?.[0]?.extensions?.fields).toContain('permits.edges.node.applicant');
  });
});
