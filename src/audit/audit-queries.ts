/**
 * Reading the audit log for compliance officers: newest first, keyset by `seq`, filtered by client, time,
 * outcome or permit number; scoped to the officer's jurisdiction (plus entries of unidentified callers).
 */
import { and, desc, eq, gte, lt, lte, or, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { auditCheckpoints, auditEntries } from '../db/schema/audit.ts';
import type { Principal } from '../domain/principal.ts';
import { PAGE, pageSize } from '../domain/pagination.ts';
import { badInput } from '../errors.ts';
import { loadInclusionProof } from './inclusion.ts';
import { leafHashOfEntry } from './merkle.ts';

export interface AuditFilter {
  client?: string | null;
  from?: Date | null;
  to?: Date | null;
  outcome?: 'ALLOWED' | 'DENIED' | 'ERROR' | null;
  permitNumber?: string | null;
}

const encode = (seq: number) => Buffer.from(`a:${seq}`).toString('base64url');
function decode(cursor: string | null | undefined): number | null {
  if (!cursor) return null;
  const raw = Buffer.from(cursor, 'base64url').toString();
  const n = raw.startsWith('a:') ? Number(raw.slice(2)) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw badInput('after', 'is not a cursor this API issued');
  return n;
}

const tenant = (p: Principal) =>
  or(sql`${auditEntries.entry}->>'jurisdiction' = ${p.jurisdiction}`, sql`${auditEntries.entry}->>'jurisdiction' is null`);

export async function listAuditEntries(
  db: Executor,
  p: Principal,
  filter: AuditFilter | null | undefined,
  first?: number | null,
  after?: string | null,
) {
  const size = pageSize(first ?? PAGE.default);
  const afterSeq = decode(after);
  const f = filter ?? {};
  const rows = await db
    .select()
    .from(auditEntries)
    .where(
      and(
        tenant(p),
        afterSeq ? lt(auditEntries.seq, afterSeq) : undefined,
        f.client ? sql`${auditEntries.entry}->>'clientId' = ${f.client}` : undefined,
        f.outcome ? sql`${auditEntries.entry}->>'outcome' = ${f.outcome}` : undefined,
        f.permitNumber ? sql`jsonb_exists(${auditEntries.entry}->'affected', ${f.permitNumber})` : undefined,
        f.from ? gte(auditEntries.createdAt, f.from) : undefined,
        f.to ? lte(auditEntries.createdAt, f.to) : undefined,
      ),
    )
    .orderBy(desc(auditEntries.seq))
    .limit(size + 1);
  const nodes = rows.slice(0, size);
  return {
    edges: nodes.map((node) => ({ node, cursor: encode(node.seq) })),
    pageInfo: {
      hasNextPage: rows.length > size,
      startCursor: nodes[0] ? encode(nodes[0].seq) : null,
      endCursor: nodes.at(-1) ? encode(nodes.at(-1)!.seq) : null,
    },
  };
}

export async function getAuditEntry(db: Executor, p: Principal, seq: number) {
  const [row] = await db
    .select()
    .from(auditEntries)
    .where(and(eq(auditEntries.seq, seq), tenant(p)));
  return row ?? null;
}

/** RFC 9162 inclusion proof of entry `seq` against the latest signed checkpoint that covers it. */
export async function proofFor(db: Executor, seq: number) {
  const [cp] = await db
    .select()
    .from(auditCheckpoints)
    .where(gte(auditCheckpoints.size, seq))
    .orderBy(desc(auditCheckpoints.size))
    .limit(1);
  if (!cp) return null;
  const proof = await loadInclusionProof(db, seq, cp.size);
  if (!proof) return null;
  return {
    leafIndex: proof.index,
    treeSize: proof.treeSize,
    leafHash: leafHashOfEntry(proof.entryHash),
    rootHash: cp.rootHash,
    path: proof.proof,
    checkpoint: cp.signature,
  };
}
