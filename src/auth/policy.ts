/**
 * THE central access policy, in one place an auditor can read:
 *  - which scopes each role may hold (a token can only narrow them),
 *  - the rate-limit budget of each role,
 *  - how a schema field's rule is read from the SDL (`@public`, `@requiresScopes`), deny by default.
 * Domain rules the directives cannot express (tenant, ownership, lifecycle) live in src/domain/.
 */
import {
  isIntrospectionType,
  isObjectType,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';

export const ROLES = ['contractor', 'gis_vendor', 'inspector', 'clerk', 'analyst', 'compliance', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_SCOPES: Readonly<Record<Role, readonly string[]>> = {
  contractor: ['permits:submit', 'permits:read:own', 'inspections:schedule'],
  gis_vendor: ['permits:read:public', 'parcels:read'],
  inspector: ['permits:read', 'inspections:record'],
  clerk: ['permits:read', 'permits:read:pii', 'permits:review'],
  analyst: ['permits:read:public', 'analytics:read', 'schema:introspect'],
  compliance: ['audit:read', 'audit:verify', 'audit:export'],
  admin: ['clients:manage', 'metrics:read'],
};

export const ALL_SCOPES: ReadonlySet<string> = new Set(Object.values(ROLE_SCOPES).flat());

/** Token-bucket budgets per role: `ratePerSec` refill and `burst` capacity; heavier operations cost more. */
export const RATE_LIMITS: Readonly<Record<Role | 'anonymous', { ratePerSec: number; burst: number }>> = {
  anonymous: { ratePerSec: 5, burst: 20 },
  contractor: { ratePerSec: 20, burst: 60 },
  gis_vendor: { ratePerSec: 50, burst: 150 },
  inspector: { ratePerSec: 20, burst: 60 },
  clerk: { ratePerSec: 30, burst: 90 },
  analyst: { ratePerSec: 20, burst: 60 },
  compliance: { ratePerSec: 10, burst: 30 },
  admin: { ratePerSec: 10, burst: 30 },
};

export const isRole = (r: unknown): r is Role => typeof r === 'string' && (ROLES as readonly string[]).includes(r);

/** A field's effective rule: public, or any-of lists of all-of scopes (an empty list: any valid token). */
export type FieldRule = { kind: 'public'; from: 'field' | 'type' } | { kind: 'scopes'; anyOf: string[][]; from: 'field' | 'type' };

function ruleFromDirectives(directives: readonly ConstDirectiveNode[] | undefined, from: 'field' | 'type'): FieldRule | null {
  for (const d of directives ?? []) {
    if (d.name.value === 'public') return { kind: 'public', from };
    if (d.name.value === 'requiresScopes') {
      const arg = d.arguments?.find((a) => a.name.value === 'scopes');
      const anyOf = arg ? (valueFromASTUntyped(arg.value) as string[][]) : [];
      return { kind: 'scopes', anyOf, from };
    }
  }
  return null;
}

const rulesCache = new WeakMap<GraphQLField<unknown, unknown>, FieldRule | null>();

/** The rule of `type.field`: the field's own directive wins over its type's; `null` means no rule (denied). */
export function fieldRule(type: GraphQLObjectType, field: GraphQLField<unknown, unknown>): FieldRule | null {
  if (rulesCache.has(field)) return rulesCache.get(field)!;
  const own = ruleFromDirectives(field.astNode?.directives, 'field');
  const typeNodes = [type.astNode, ...type.extensionASTNodes];
  const inherited = typeNodes.reduce<FieldRule | null>((r, n) => r ?? ruleFromDirectives(n?.directives, 'type'), null);
  const rule = own ?? inherited;
  rulesCache.set(field, rule);
  return rule;
}

export function ruleSatisfied(rule: FieldRule | null, scopes: ReadonlySet<string> | null): 'ok' | 'unauthenticated' | 'forbidden' {
  if (!rule) return scopes ? 'forbidden' : 'unauthenticated';
  if (rule.kind === 'public') return 'ok';
  if (!scopes) return 'unauthenticated';
  return rule.anyOf.some((all) => all.every((s) => scopes.has(s))) ? 'ok' : 'forbidden';
}

export const describeRule = (rule: FieldRule | null) =>
  !rule
    ? 'NONE (denied)'
    : rule.kind === 'public'
      ? 'public'
      : rule.anyOf.map((all) => (all.length ? all.join(' + ') : 'any valid token')).join(' | ');

/** Every field of every object type with its rule: the table `cli policy audit` prints. */
export function policyTable(schema: GraphQLSchema) {
  const rows: { field: string; rule: string; from: string; missing: boolean }[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const rule = fieldRule(type, field);
      rows.push({ field: `${type.name}.${field.name}`, rule: describeRule(rule), from: rule?.from ?? '-', missing: !rule });
    }
  }
  return rows.sort((a, b) => a.field.localeCompare(b.field));
}

/** Names of fields without a rule: production refuses to start while this is non-empty. */
export const fieldsWithoutRule = (schema: GraphQLSchema) =>
  policyTable(schema)
    .filter((r) => r.missing)
    .map((r) => r.field);
