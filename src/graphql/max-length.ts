/**
 * Enforces `@maxLength(max:)` on arguments and input fields before any resolver runs, so no oversize string
 * reaches the domain or the database. Reports BAD_USER_INPUT with the argument path.
 */
import {
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  type GraphQLArgument,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLSchema,
  type GraphQLObjectType,
  valueFromASTUntyped,
} from 'graphql';
import { defaultFieldResolver } from 'graphql';
import { badInput } from '../errors.ts';

type WithAst = GraphQLArgument | GraphQLInputField;

function maxOf(x: WithAst): number | null {
  const d = x.astNode?.directives?.find((d) => d.name.value === 'maxLength');
  const arg = d?.arguments?.find((a) => a.name.value === 'max');
  return arg ? Number(valueFromASTUntyped(arg.value)) : null;
}

/** Every input object field / list is walked; lists are capped at `maxListItems`. */
function check(value: unknown, type: GraphQLInputType, max: number | null, path: string, maxListItems: number): void {
  if (value === null || value === undefined) return;
  const t = isNonNullType(type) ? type.ofType : type;
  if (isListType(t)) {
    if (!Array.isArray(value)) return check(value, t.ofType, max, path, maxListItems);
    if (value.length > maxListItems) throw badInput(path, `must have at most ${maxListItems} items`);
    value.forEach((v, i) => check(v, t.ofType, max, `${path}.${i}`, maxListItems));
    return;
  }
  if (typeof value === 'string' && max !== null && value.length > max) {
    throw badInput(path, `must be at most ${max} characters`);
  }
  const named = getNamedType(t);
  if (isInputObjectType(named) && typeof value === 'object') {
    for (const f of Object.values(named.getFields())) {
      check((value as Record<string, unknown>)[f.name], f.type, maxOf(f), `${path}.${f.name}`, maxListItems);
    }
  }
}

export function applyMaxLength(schema: GraphQLSchema, maxListItems = 100): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!('getFields' in type) || type.name.startsWith('__') || isInputObjectType(type)) continue;
    for (const field of Object.values((type as GraphQLObjectType).getFields())) {
      if (!field.args?.length) continue;
      const resolve = field.resolve ?? defaultFieldResolver;
      const args = field.args;
      field.resolve = (src, a, ctx, info) => {
        for (const arg of args) check(a[arg.name], arg.type, maxOf(arg), arg.name, maxListItems);
        return resolve(src, a, ctx, info);
      };
    }
  }
  return schema;
}
