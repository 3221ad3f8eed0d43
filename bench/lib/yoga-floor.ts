/**
 * The stack's floor: graphql-yoga on Bun.serve with the app's own schema (schema/*.graphql, the same scalars), no
 * plugins, no database, every `permitStatus` and `permit` answered with one fixed sample of what the app answered
 * (FLOOR_SAMPLE: a JSON file `{ permitStatus, permit }`). Parsing the request, validation (cached), execution of the
 * same response shape and serialising it are all that is left: what any app on this stack pays per request on this
 * machine before it does any work of its own. Run by bench/run.ts as `bun run bench/lib/yoga-floor.ts`.
 */
import { readFileSync } from 'node:fs';
import { createSchema, createYoga } from 'graphql-yoga';
import { loadTypeDefs } from '../../src/graphql/schema.ts';
import { DateTimeScalar, JSONScalar } from '../../src/graphql/scalars.ts';

const sample = JSON.parse(readFileSync(process.env.FLOOR_SAMPLE!, 'utf8')) as { permitStatus: unknown; permit: unknown };
const yoga = createYoga({
  schema: createSchema({
    typeDefs: loadTypeDefs(),
    resolvers: {
      Query: { permitStatus: () => sample.permitStatus, permit: () => sample.permit },
      DateTime: DateTimeScalar,
      JSON: JSONScalar,
    },
  }),
  graphqlEndpoint: '/graphql',
  logging: false,
  landingPage: false,
  graphiql: false,
});
Bun.serve({ hostname: '127.0.0.1', port: Number(process.env.PORT), fetch: yoga });
