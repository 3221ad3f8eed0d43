/** Builds the executable schema from `schema/*.graphql` and the resolvers. */
import { createSchema } from 'graphql-yoga';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyMaxLength } from './max-length.ts';
import { identityResolvers } from './resolvers/identity.ts';
import { permitMutationResolvers } from './resolvers/permit-mutations.ts';
import { permitQueryResolvers } from './resolvers/permit-queries.ts';
import { permitTypeResolvers } from './resolvers/permit-types.ts';
import { auditResolvers } from './resolvers/audit.ts';
import { eventResolvers } from './resolvers/events.ts';
import { conditionResolvers } from './resolvers/conditions.ts';
import { inspectionResolvers } from './resolvers/inspections.ts';
import { DateTimeScalar, JSONScalar } from './scalars.ts';

export const SCHEMA_DIR = fileURLToPath(new URL('../../schema', import.meta.url));

export function loadTypeDefs(dir = SCHEMA_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

function merge(...parts: Record<string, Record<string, unknown>>[]) {
  const out: Record<string, Record<string, unknown>> = {};
  for (const part of parts) for (const [type, fields] of Object.entries(part)) out[type] = { ...out[type], ...fields };
  return out;
}

export function buildSchema(typeDefs = loadTypeDefs()) {
  const schema = createSchema({
    typeDefs,
    resolvers: {
      ...merge(
        permitQueryResolvers,
        permitMutationResolvers,
        permitTypeResolvers,
        identityResolvers,
        auditResolvers,
        eventResolvers,
        inspectionResolvers,
        conditionResolvers,
      ),
      DateTime: DateTimeScalar,
      JSON: JSONScalar,
    },
  });
  return applyMaxLength(schema);
}
