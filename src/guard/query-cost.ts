/**
 * Static query cost with list multipliers, computed from the document before anything executes.
 *
 * cost = Σ over every field of the product of the list sizes of its ancestors, where a list field's size is its
 * `first` / `last` / `limit` argument (literal or variable) or `defaultListSize` when it has none. So
 * `permits(first: 200) { inspections(first: 200) { id } }` costs 1 + 200 + 200·200 = 40 201.
 * Fragments are costed once per fragment name and reused (linear time even for "fragment bombs");
 * fragment cycles add nothing here (graphql's NoFragmentCycles rule refuses them).
 *
 * Fields with a declared price (`prices`, from `@listSize` / `@cost` in the SDL, see field-prices.ts) replace those
 * defaults: a priced list's size is its slicing argument or `assumedSize`, a field costs its `weight` instead of 1,
 * and a priced leaf that returns many items (a JSON FeatureCollection) costs `weight × size`. Without prices the
 * cost is exactly the one above.
 */
import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { isConnectionType, type FieldPrice, type FieldPrices } from './field-prices.ts';

export interface QueryCostOptions {
  /** Arguments whose integer value is a list field's size. */
  listSizeArguments: readonly string[];
  /** Size assumed for a list field without one of `listSizeArguments` (or with a non-integer value). */
  defaultListSize: number;
  /** Page size of a Relay connection asked without `first` (the API's default page). @default defaultListSize */
  connectionDefaultSize?: number;
  /** Declared prices by `Type.field` (field-prices.ts `fieldPricesOf`). @default none */
  prices?: FieldPrices;
}

/** A parent's `sizedFields` and the list size they take. */
interface Sized {
  names: readonly string[];
  size: number;
}

/** Pick the operation Yoga will execute: the named one, or the only one. */
export function selectOperation(document: DocumentNode, operationName?: string | null) {
  let found: OperationDefinitionNode | undefined;
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    if (operationName ? def.name?.value === operationName : !found) found = def;
    else if (!operationName) return undefined; // several anonymous candidates: graphql refuses it anyway
  }
  return found;
}

/** Every variable name used as a list size argument, so callers can key caches on their values. */
export function listSizeVariables(document: DocumentNode, listSizeArguments: readonly string[]): string[] {
  const names = new Set<string>();
  const walk = (set: SelectionSetNode | undefined) => {
    if (!set) return;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        for (const arg of sel.arguments ?? []) {
          if (listSizeArguments.includes(arg.name.value) && arg.value.kind === Kind.VARIABLE) {
            names.add(arg.value.name.value);
          }
        }
      }
      if (sel.kind !== Kind.FRAGMENT_SPREAD) walk(sel.selectionSet);
    }
  };
  for (const def of document.definitions) {
    if (def.kind === Kind.OPERATION_DEFINITION || def.kind === Kind.FRAGMENT_DEFINITION) walk(def.selectionSet);
  }
  return [...names].sort();
}

/** The cost of one operation (the highest of all operations when `operation` is not given). */
export function computeQueryCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  options: QueryCostOptions,
  variables: Record<string, unknown> | null | undefined,
  operation?: OperationDefinitionNode,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const fragmentUnitCost = new Map<string, number>();
  const inProgress = new Set<string>();

  const sizeFrom = (
    args: readonly { name: { value: string }; value: ValueNode }[] | undefined,
    names: readonly string[],
    otherwise: number,
  ): number => {
    for (const arg of args ?? []) {
      if (!names.includes(arg.name.value)) continue;
      let n: unknown;
      if (arg.value.kind === Kind.INT) n = Number(arg.value.value);
      else if (arg.value.kind === Kind.VARIABLE) n = variables?.[arg.value.name.value];
      if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return n;
    }
    return otherwise;
  };
  const listSize = (args: readonly { name: { value: string }; value: ValueNode }[] | undefined) =>
    sizeFrom(args, options.listSizeArguments, options.defaultListSize);
  /** Items a priced field returns: its slicing argument, else its assumed size (undefined: no declared size). */
  const pricedSize = (price: FieldPrice | undefined, args: readonly { name: { value: string }; value: ValueNode }[] | undefined) =>
    price?.assumedSize === undefined ? undefined : sizeFrom(args, price.slicingArguments ?? [], price.assumedSize);

  /**
   * Relay connections: the connection field's `first` (or the API's default page) is the multiplier and the
   * `edges` list inside it adds none; any other list multiplies by its size argument or `defaultListSize`.
   */
  const isConnection = isConnectionType;
  const multiplierOf = (
    fieldDef: { type: Parameters<typeof getNullableType>[0] } | undefined,
    parent: GraphQLCompositeType | undefined,
    args: readonly { name: { value: string }; value: ValueNode }[] | undefined,
  ): number => {
    if (!fieldDef) return 1;
    if (isConnection(getNamedType(fieldDef.type))) {
      const n = listSize(args);
      return n === options.defaultListSize && !args?.some((a) => options.listSizeArguments.includes(a.name.value))
        ? (options.connectionDefaultSize ?? n)
        : n;
    }
    if (isConnection(parent)) return 1;
    return isListType(getNullableType(fieldDef.type)) ? listSize(args) : 1;
  };

  // Cost of a selection set resolved once (multiplier 1); callers multiply. `sized`: the parent's `sizedFields`,
  // which take the parent's list size (a connection's `edges`) while its other fields (`pageInfo`) count once
  const selectionCost = (set: SelectionSetNode, parent: GraphQLCompositeType | undefined, sized?: Sized): number => {
    let cost = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        const price = parent ? options.prices?.get(`${parent.name}.${name}`) : undefined;
        const weight = price?.weight ?? 1;
        const size = pricedSize(price, sel.arguments);
        if (name === '__schema' || name === '__type') {
          cost += 1;
          continue; // introspection is gated separately
        }
        const fieldDef = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[name] : undefined;
        const sizedHere = sized?.names.includes(name) ? sized.size : undefined;
        if (!sel.selectionSet) {
          cost += (sizedHere ?? 1) * (size === undefined ? weight : weight * size);
          continue;
        }
        const childType = fieldDef ? getNamedType(fieldDef.type) : undefined;
        const child = isCompositeType(childType) ? childType : undefined;
        if (price?.sizedFields?.length && size !== undefined) {
          // IBM `sizedFields`: the items live in the named fields of the returned object, not in the field itself
          cost += (sizedHere ?? 1) * (weight + selectionCost(sel.selectionSet, child, { names: price.sizedFields, size }));
          continue;
        }
        const multiplier = sizedHere ?? size ?? multiplierOf(fieldDef, parent, sel.arguments);
        cost +=
          sizedHere === undefined
            ? weight + multiplier * selectionCost(sel.selectionSet, child)
            : multiplier * (weight + selectionCost(sel.selectionSet, child));
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const cond = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent;
        cost += selectionCost(sel.selectionSet, isCompositeType(cond) ? cond : undefined, sized);
      } else {
        const name = sel.name.value;
        const key = sized ? `${name}\u0000${sized.size}` : name;
        const known = fragmentUnitCost.get(key);
        if (known !== undefined) {
          cost += known;
          continue;
        }
        const fragment = fragments.get(name);
        if (!fragment || inProgress.has(name)) continue; // unknown or cyclic: other rules refuse it
        inProgress.add(name);
        const cond = schema.getType(fragment.typeCondition.name.value);
        const unit = selectionCost(fragment.selectionSet, isCompositeType(cond) ? cond : undefined, sized);
        inProgress.delete(name);
        fragmentUnitCost.set(key, unit);
        cost += unit;
      }
    }
    return cost;
  };

  const rootType = (op: OperationDefinitionNode) =>
    op.operation === 'query'
      ? schema.getQueryType()
      : op.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();

  const ops = operation
    ? [operation]
    : document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  let max = 0;
  for (const op of ops) max = Math.max(max, selectionCost(op.selectionSet, rootType(op) ?? undefined));
  return max;
}

/**
 * Selection depth of one operation (each fragment measured once, cycles count nothing: other rules refuse them):
 * what the depth histogram reports. armor's max-depth refuses; this only measures.
 */
export function queryDepth(document: DocumentNode, operation: OperationDefinitionNode | undefined): number {
  if (!operation) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const known = new Map<string, number>();
  const depthOf = (set: SelectionSetNode | undefined): number => {
    let d = 0;
    for (const sel of set?.selections ?? []) {
      if (sel.kind === Kind.FIELD) d = Math.max(d, sel.selectionSet ? 1 + depthOf(sel.selectionSet) : 1);
      else if (sel.kind === Kind.INLINE_FRAGMENT) d = Math.max(d, depthOf(sel.selectionSet));
      else {
        const name = sel.name.value;
        if (!known.has(name)) {
          known.set(name, 0); // in progress: a cycle adds nothing
          known.set(name, depthOf(fragments.get(name)?.selectionSet));
        }
        d = Math.max(d, known.get(name)!);
      }
    }
    return d;
  };
  return depthOf(operation.selectionSet);
}
