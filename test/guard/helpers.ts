/** A small Yoga app with nested lists for the guard tests, served over real HTTP. */
import { createSchema, createYoga, type Plugin, type YogaServerOptions } from 'graphql-yoga';

export interface Principal {
  sub: string;
  role: string;
  scopes: string[];
}

export const typeDefs = /* GraphQL */ `
  type Query {
    permits(first: Int): [Permit!]!
    hello: String
    boom: String
    kind(k: Kind): String
  }
  enum Kind { BUILDING ELECTRICAL }
  type Permit { number: String! inspections(first: Int): [Inspection!]! }
  type Inspection { id: ID! items: [String!]! }
`;

export function createTestSchema(calls: { count: number }) {
  const tick = () => void calls.count++;
  return createSchema<Record<string, unknown>>({
    typeDefs,
    resolvers: {
      Query: {
        permits: (_: unknown, { first }: { first?: number }) => {
          tick();
          return Array.from({ length: first ?? 2 }, (_, i) => ({ number: `P-${i}` }));
        },
        hello: () => (tick(), 'hi'),
        boom: () => {
          tick();
          throw new Error('secret internal detail');
        },
        kind: (_: unknown, { k }: { k?: string }) => (tick(), k ?? null),
      },
      Permit: {
        number: (p: { number: string }) => (tick(), p.number),
        inspections: (p: { number: string }, { first }: { first?: number }) => {
          tick();
          return Array.from({ length: first ?? 1 }, (_, i) => ({ id: `${p.number}-I${i}`, items: ['a'] }));
        },
      },
      Inspection: { id: (i: { id: string }) => (tick(), i.id) },
    },
  });
}

/** Test principal from the `x-test-principal` header: `sub:role:scope1,scope2` (tests only!). */
export function principalFrom(request: Request): Principal | undefined {
  const raw = request.headers.get('x-test-principal');
  if (!raw) return undefined;
  const [sub = '', role = '', ...rest] = raw.split(':');
  const scopes = rest.join(':');
  return { sub, role, scopes: scopes ? scopes.split(',') : [] };
}

export function startYoga(
  plugins: Plugin[],
  extra: Partial<YogaServerOptions<Record<string, unknown>, Record<string, unknown>>> = {},
  wrap: (
    h: (req: Request) => Response | Promise<Response>,
  ) => (req: Request, server: Bun.Server<undefined>) => Response | Promise<Response> = (h) => h,
) {
  const calls = { count: 0 };
  const yoga = createYoga<Record<string, unknown>>({
    schema: createTestSchema(calls),
    plugins,
    logging: false,
    ...extra,
  });
  const handler = (req: Request) =>
    yoga.fetch(req, { principal: principalFrom(req), clientIp: req.headers.get('x-test-ip') ?? '127.0.0.1' });
  const server = Bun.serve({ port: 0, fetch: wrap(handler) });
  const url = `http://127.0.0.1:${server.port}/graphql`;
  return { server, url, calls, yoga, stop: () => server.stop(true) };
}

export async function gql(
  url: string,
  query: string,
  opts: { variables?: Record<string, unknown>; headers?: Record<string, string> } = {},
) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: JSON.stringify({ query, variables: opts.variables }),
  });
  const text = await res.text();
  let body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } = {};
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body, text };
}
