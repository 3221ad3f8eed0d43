/**
 * `bun bench/compiled-execution.ts` — what graphql-jit (src/graphql/use-compiled-execution.ts) saves per request on
 * the benchmark's `permit` and `permitStatus` operations, measured in one process so a busy machine weighs on both
 * sides alike: the real schema, resolvers answering from memory (no database), Yoga's own executor and the compiled
 * query in alternating blocks, CPU time per execution (process.cpuUsage) and the median over the blocks.
 */
import { normalizedExecutor } from '@graphql-tools/executor';
import { defaultFieldResolver, type GraphQLSchema, isObjectType, parse } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { buildSchema, loadTypeDefs } from '../src/graphql/schema.ts';
import { PERMIT_QUERY, PERMIT_STATUS_QUERY } from './lib/scenarios.ts';

const BLOCKS = Number(process.env.BLOCKS ?? 20);
const PER_BLOCK = Number(process.env.PER_BLOCK ?? 1000);

const now = new Date('2026-12-01T12:00:00Z');
const permitRow = {
  id: 'p1',
  permitNum: 'DC-2026-000001',
  permitType: 'BUILDING',
  workClass: 'NEW',
  statusCurrent: 'UNDER_REVIEW',
  description: 'A garage',
  estProjectCost: 125000,
  version: 3,
  appliedDate: now,
  updatedAt: now,
  parcelId: 'pa1',
  contractorId: 'c1',
};
const parcel = { id: 'pa1', apn: '123-456', address: '1 Main St', zoningCode: 'R1' };
const contractor = { id: 'c1', licenseNumber: 'L-1', name: 'Builders', licenseStatus: 'ACTIVE' };
const inspections = [1, 2, 3].map((i) => ({
  id: `i${i}`,
  inspectionType: 'FRAMING',
  windowStart: now,
  windowEnd: now,
  result: 'PENDING',
  recordedAt: null,
}));

/** The app's schema with the root and loader-backed fields answering from memory (as a DataLoader would: a promise). */
function inMemorySchema(): GraphQLSchema {
  const schema = buildSchema(loadTypeDefs());
  const q = schema.getQueryType()!.getFields();
  q.permit!.resolve = async () => permitRow;
  q.permitStatus!.resolve = async () => ({ number: 'DC-2026-000001', status: 'UNDER_REVIEW', updatedAt: now, stale: false, asOf: now });
  const p = (schema.getType('Permit') as { getFields(): Record<string, { resolve?: unknown }> }).getFields();
  p.parcel!.resolve = async () => parcel;
  p.contractor!.resolve = async () => contractor;
  p.inspections!.resolve = async () => inspections;
  // as src/graphql/use-compiled-execution.ts does before compiling: graphql-js's default resolver on every field
  for (const t of Object.values(schema.getTypeMap())) {
    if (!isObjectType(t) || t.name.startsWith('__')) continue;
    for (const f of Object.values(t.getFields())) f.resolve ??= defaultFieldResolver;
  }
  return schema;
}

const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(name: string, source: string) {
  const schema = inMemorySchema();
  const document = parse(source);
  const variableValues = { n: 'DC-2026-000001' };
  const compiled = compileQuery(schema, document, undefined);
  if (!isCompiledQuery(compiled)) throw new Error(`${name}: graphql-jit refused the document`);
  const sides = {
    yoga: () => normalizedExecutor({ schema, document, variableValues, contextValue: {} }) as Promise<unknown>,
    jit: () => compiled.query(undefined, {}, variableValues) as Promise<unknown>,
  };
  // same answers on both sides, then warm both up
  const [a, b] = [await sides.yoga(), await sides.jit()];
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${name}: answers differ\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
  for (const run of Object.values(sides)) for (let i = 0; i < PER_BLOCK; i++) await run();
  const perExecution: Record<keyof typeof sides, number[]> = { yoga: [], jit: [] };
  for (let block = 0; block < BLOCKS; block++) {
    for (const side of (block % 2 ? ['jit', 'yoga'] : ['yoga', 'jit']) as Array<keyof typeof sides>) {
      const start = cpuMicros();
      for (let i = 0; i < PER_BLOCK; i++) await sides[side]();
      perExecution[side].push((cpuMicros() - start) / PER_BLOCK);
    }
  }
  const yoga = median(perExecution.yoga);
  const jit = median(perExecution.jit);
  console.log(
    `${name.padEnd(13)} CPU µs per execution (median of ${BLOCKS} blocks of ${PER_BLOCK}): Yoga's executor ${yoga.toFixed(1)}, ` +
      `graphql-jit ${jit.toFixed(1)}, saved ${(yoga - jit).toFixed(1)} (${((1 - jit / yoga) * 100).toFixed(0)} %)`,
  );
}

await measure('permit', PERMIT_QUERY);
await measure('permitStatus', PERMIT_STATUS_QUERY);
