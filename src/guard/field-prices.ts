/**
 * Read prices declared in the SDL (schema/directives.graphql): `@listSize(assumedSize, slicingArguments, sizedFields,
 * requireOneSlicingArgument)` on fields and `@cost(weight)`, the GraphQL cost directives (IBM cost spec, Apollo demand
 * control). query-cost.ts
 * turns them into the static cost that both the armor cost limit and the rate-limit charge follow, so a field that
 * can return thousands of items (a GeoJSON FeatureCollection, a page of 200) costs what it can return.
 */
import {
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  valueFromASTUntyped,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';

export interface FieldPrice {
  /** What one occurrence costs instead of 1; on a leaf field with a list size, what each item costs. */
  weight?: number;
  /** Items returned without a slicing argument: the server's cap or default page. */
  assumedSize?: number;
  /** Arguments whose integer value is the number of items returned (the first one given wins). */
  slicingArguments?: readonly string[];
  /** Fields of the returned object that hold the items (a connection's `edges`): they, not the field, take the size. */
  sizedFields?: readonly string[];
  /** Whether a query must give exactly one of `slicingArguments` (IBM default true; false where a default page applies). */
  requireOneSlicingArgument?: boolean;
}

/** `Type.field` → its declared price. */
export type FieldPrices = ReadonlyMap<string, FieldPrice>;

function priceOf(field: GraphQLField<unknown, unknown>): FieldPrice | undefined {
  let price: FieldPrice | undefined;
  for (const d of field.astNode?.directives ?? []) {
    if (d.name.value !== 'cost' && d.name.value !== 'listSize') continue;
    price ??= {};
    for (const arg of d.arguments ?? []) {
      const value = valueFromASTUntyped(arg.value);
      if (d.name.value === 'cost' && arg.name.value === 'weight' && arg.value.kind === Kind.INT) price.weight = Number(value);
      if (arg.name.value === 'assumedSize' && arg.value.kind === Kind.INT) price.assumedSize = Number(value);
      if (arg.name.value === 'slicingArguments' && Array.isArray(value)) price.slicingArguments = value.map(String);
      if (arg.name.value === 'sizedFields' && Array.isArray(value)) price.sizedFields = value.map(String);
      if (arg.name.value === 'requireOneSlicingArgument' && arg.value.kind === Kind.BOOLEAN)
        price.requireOneSlicingArgument = arg.value.value;
    }
    // the IBM spec's default: a field with slicing arguments requires exactly one unless it says otherwise
    if (d.name.value === 'listSize' && price.slicingArguments?.length) price.requireOneSlicingArgument ??= true;
  }
  return price;
}

function objectFields(schema: GraphQLSchema) {
  const out: { type: GraphQLNamedType; name: string; field: GraphQLField<unknown, unknown> }[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
    for (const [name, field] of Object.entries(type.getFields())) out.push({ type, name, field });
  }
  return out;
}

const cache = new WeakMap<GraphQLSchema, FieldPrices>();

/** Every price declared in `schema` (empty for a schema without the directives: the cost model's defaults apply). */
export function fieldPricesOf(schema: GraphQLSchema): FieldPrices {
  let prices = cache.get(schema);
  if (!prices) {
    const m = new Map<string, FieldPrice>();
    for (const { type, name, field } of objectFields(schema)) {
      const p = priceOf(field);
      if (p) m.set(`${type.name}.${name}`, p);
    }
    cache.set(schema, (prices = m));
  }
  return prices;
}

/** A Relay connection type: its `edges` are sized by the field returning the connection. */
export function isConnectionType(t: unknown): boolean {
  return isObjectType(t) && 'edges' in t.getFields() && 'pageInfo' in t.getFields();
}

/**
 * Fields that can return many items but declare no price: lists, connections and JSON scalars (a JSON value can
 * hold a whole collection). A connection's `edges` need none: the field returning the connection prices them.
 */
export function fieldsWithoutPrice(schema: GraphQLSchema, jsonScalars: readonly string[] = ['JSON']): string[] {
  const prices = fieldPricesOf(schema);
  const missing: string[] = [];
  for (const { type, name, field } of objectFields(schema)) {
    const named = getNamedType(field.type);
    const many = isListType(getNullableType(field.type)) || jsonScalars.includes(named.name) || isConnectionType(named);
    if (!many || (name === 'edges' && isConnectionType(type))) continue;
    const p = prices.get(`${type.name}.${name}`);
    // a list's price must say how many items it can hold; a JSON leaf may give a weight alone
    const priced =
      p &&
      (p.assumedSize !== undefined || (p.weight !== undefined && !isListType(getNullableType(field.type)) && !isConnectionType(named)));
    if (!priced) missing.push(`${type.name}.${name}`);
  }
  return missing.sort();
}
