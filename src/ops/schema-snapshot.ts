/**
 * The published API as one sorted SDL file (`schema/__snapshot__/schema.graphql`) and the comparison against it.
 * The snapshot test fails on any breaking change (graphql's `findBreakingChanges`) until the snapshot is
 * rewritten on purpose: `UPDATE_SCHEMA_SNAPSHOT=1 bun test test/ops/schema-snapshot.test.ts`.
 * Fields are retired with `@deprecated(reason: "…")` first, which is not a breaking change.
 * It keeps the cost directives (`@cost`, `@listSize`) that graphql's printer drops: the published SDL must tell a
 * client what a query costs, by the very prices the cost limit and the rate limit read (src/guard/field-prices.ts).
 */
import {
  buildSchema as buildSdl,
  findBreakingChanges,
  findDangerousChanges,
  isInterfaceType,
  isObjectType,
  Kind,
  lexicographicSortSchema,
  parse,
  print,
  printSchema,
  type GraphQLSchema,
} from 'graphql';
import { fileURLToPath } from 'node:url';

export const SNAPSHOT_FILE = fileURLToPath(new URL('../../schema/__snapshot__/schema.graphql', import.meta.url));

const HEADER =
  '# Generated: the public API as served (sorted). Do not edit by hand.\n' +
  '# Rewrite on purpose with: UPDATE_SCHEMA_SNAPSHOT=1 bun test test/ops/schema-snapshot.test.ts\n\n';

/** The directives of the cost model, applied to fields (schema/directives.graphql). */
const COST_DIRECTIVES = new Set(['cost', 'listSize']);

/**
 * `sdl` (printSchema of `schema`) with each field's cost directives appended where its definition ends: inserted into
 * the printed text rather than reprinted from the AST, so the rest of the file stays exactly as graphql prints it.
 */
function withCostDirectives(schema: GraphQLSchema, sdl: string): string {
  const inserts: { at: number; text: string }[] = [];
  for (const def of parse(sdl).definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    const type = schema.getType(def.name.value);
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    const fields = type.getFields();
    for (const node of def.fields ?? []) {
      const applied = fields[node.name.value]?.astNode?.directives?.filter((d) => COST_DIRECTIVES.has(d.name.value)) ?? [];
      if (applied.length && node.loc) inserts.push({ at: node.loc.end, text: applied.map((d) => ` ${print(d)}`).join('') });
    }
  }
  // from the end backwards, so the offsets still to be used stay valid
  let out = sdl;
  for (const { at, text } of inserts.sort((a, b) => b.at - a.at)) out = out.slice(0, at) + text + out.slice(at);
  return out;
}

/** The sorted SDL of a schema with its cost directives, as stored in the snapshot file. */
export function snapshotOf(schema: GraphQLSchema): string {
  const sorted = lexicographicSortSchema(schema);
  return `${HEADER}${withCostDirectives(sorted, printSchema(sorted))}\n`;
}

export interface SchemaComparison {
  breaking: string[];
  dangerous: string[];
}

/** Breaking and dangerous changes from the snapshot's SDL to `current`, as readable lines. */
export function compareWithSnapshot(snapshotSdl: string, current: GraphQLSchema): SchemaComparison {
  const old = buildSdl(snapshotSdl, { assumeValidSDL: true });
  const now = buildSdl(printSchema(current), { assumeValidSDL: true });
  return {
    breaking: findBreakingChanges(old, now).map((c) => `${c.type}: ${c.description}`),
    dangerous: findDangerousChanges(old, now).map((c) => `${c.type}: ${c.description}`),
  };
}
