/**
 * Enforces `@maxLength(max:)` on arguments and input fields before any resolver runs, so no oversize string
 * reaches the domain or the database. Reports BAD_USER_INPUT with the argument path, every oversize value at once.
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
import { badInputs, type InputIssue } from '../errors.ts';

type WithAst = GraphQLArgument | GraphQLInputField;

function maxOf(x: WithAst): number | null {
  const d = x.astNode?.directives?.find((d) => d.name.value === 'maxLength');
  const arg = d?.arguments?.find((a) => a.name.value === 'max');
  return arg ? Number(valueFromASTUntyped(arg.value)) : null;
}

/** Every input object field / list is walked (lists are capped at `maxListItems`); each problem is added to `found`. */
function check(value: unknown, type: GraphQLInputType, max: number | null, path: string, maxListItems: number, found: InputIssue[]): void {
  if (value === null || value === undefined) return;
  const t = isNonNullType(type) ? type.ofType : type;
  if (isListType(t)) {
    if (!Array.isArray(value)) return check(value, t.ofType, max, path, maxListItems, found);
    if (value.length > maxListItems) {
      found.push({ field: path, message: `must have at most ${maxListItems} items` });
      return;
    }
    value.forEach((v, i) => check(v, t.ofType, max, `${path}.${i}`, maxListItems, found));
    return;
  }
  if (typeof value === 'string' && max !== null && value.length > max) {
    found.push({ field: path, message: `must be at most ${max} characters` });
    return;
  }
  const named = getNamedType(t);
  if (isInputObjectType(named) && typeof value === 'object') {
    for (const f of Object.values(named.getFields())) {
      check((value as Record<string, unknown>)[f.name], f.type, maxOf(f), `${path}.${f.name}`, maxListItems, found);
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
        // every oversize value of the call in one answer
        const found: InputIssue[] = [];
        for (const arg of args) check(a[arg.name], arg.type, maxOf(arg), arg.name, maxListItems, found);
        const [first, ...rest] = found;
        if (first) throw badInputs([first, ...rest]);
        return resolve(src, a, ctx, info);
      };
    }
  }
  return schema;
}
