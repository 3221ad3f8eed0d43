/**
 * docs/examples/<role>.graphql hold example operations a new user can paste: each must be valid against the schema
 * and granted to its role by the central policy (an example that answers FORBIDDEN teaches nothing).
 */
import { describe, expect, test } from 'bun:test';
import { isObjectType, parse, TypeInfo, validate, visit, visitWithTypeInfo, type GraphQLObjectType } from 'graphql';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fieldRule, ROLE_SCOPES, ROLES, ruleSatisfied, type Role } from '../../src/auth/policy.ts';
import { buildSchema } from '../../src/graphql/schema.ts';

const DIR = join(import.meta.dir, '..', '..', 'docs', 'examples');
const schema = buildSchema();

/** Field paths of the document the role's scopes do not grant. */
function refusedFields(document: string, role: Role): string[] {
  const scopes = new Set(ROLE_SCOPES[role]);
  const typeInfo = new TypeInfo(schema);
  const refused: string[] = [];
  visit(
    parse(document),
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (node.name.value.startsWith('__')) return;
        const parent = typeInfo.getParentType();
        const def = typeInfo.getFieldDef();
        if (!parent || !def || !isObjectType(parent)) return;
        if (ruleSatisfied(fieldRule(parent as GraphQLObjectType, def as never), scopes) !== 'ok')
          refused.push(`${parent.name}.${node.name.value}`);
      },
    }),
  );
  return refused;
}

describe('docs/examples', () => {
  test('there is one file per role and nothing else', () => {
    expect(readdirSync(DIR).sort()).toEqual(ROLES.map((r) => `${r}.graphql`).sort());
  });

  test('the check refuses an example to a role it is not meant for', () => {
    expect(refusedFields(readFileSync(join(DIR, 'compliance.graphql'), 'utf8'), 'contractor')).toContain('Query.auditLog');
    expect(refusedFields(readFileSync(join(DIR, 'clerk.graphql'), 'utf8'), 'gis_vendor')).toContain('Permit.applicant');
  });

  for (const role of ROLES) {
    test(`${role}.graphql is valid and granted to ${role}`, () => {
      const text = readFileSync(join(DIR, `${role}.graphql`), 'utf8');
      const errors = validate(schema, parse(text)).map((e) => e.message);
      expect(errors).toEqual([]);
      expect(refusedFields(text, role)).toEqual([]);
      expect(parse(text).definitions.length).toBeGreaterThan(0);
    });
  }
});
