/**
 * The published API as one sorted SDL file (`schema/__snapshot__/schema.graphql`) and the comparison against it.
 * The snapshot test fails on any breaking change (graphql's `findBreakingChanges`) until the snapshot is
 * rewritten on purpose: `UPDATE_SCHEMA_SNAPSHOT=1 bun test test/ops/schema-snapshot.test.ts`.
 * Fields are retired with `@deprecated(reason: "…")` first, which is not a breaking change.
 */
import {
  buildSchema as buildSdl,
  findBreakingChanges,
  findDangerousChanges,
  lexicographicSortSchema,
  printSchema,
  type GraphQLSchema,
} from 'graphql';
import { fileURLToPath } from 'node:url';

export const SNAPSHOT_FILE = fileURLToPath(new URL('../../schema/__snapshot__/schema.graphql', import.meta.url));

const HEADER =
  '# Generated: the public API as served (sorted). Do not edit by hand.\n' +
  '# Rewrite on purpose with: UPDATE_SCHEMA_SNAPSHOT=1 bun test test/ops/schema-snapshot.test.ts\n\n';

/** The sorted SDL of a schema, as stored in the snapshot file. */
export const snapshotOf = (schema: GraphQLSchema) => `${HEADER}${printSchema(lexicographicSortSchema(schema))}\n`;

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
