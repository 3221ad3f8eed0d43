/**
 * Applies one outbox item to the database on behalf of the client that queued it, with the same validation,
 * ownership and idempotency rules as a live request. A crash between the commit and `markPersisted` is harmless:
 * the next replay finds the idempotency key and answers with the same result.
 */
import type { GraphQLError } from 'graphql';
import { ROLE_SCOPES } from '../auth/policy.ts';
import type { ChangeBatching } from '../db/change-batches.ts';
import type { Db, Tx } from '../db/client.ts';
import { scheduleInspection, validateScheduling } from '../domain/inspections.ts';
import { planSubmission, submitPermit, validateSubmission } from '../domain/permit-writes.ts';
import type { Principal } from '../domain/principal.ts';
import type { OutboxItem } from './outbox.ts';
import type { ReplayResult } from './replayer.ts';

/** Runs inside the replay's transaction (the audit entry of the queued work, marked as queued). */
export type ReplayCommitHook = (tx: Tx, item: OutboxItem, affected: string[]) => Promise<void>;

const isDomainRefusal = (err: unknown) => {
  const code = (err as GraphQLError)?.extensions?.code;
  return code === 'BAD_USER_INPUT' || code === 'CONFLICT' || code === 'NOT_FOUND' || code === 'FORBIDDEN';
};

function principalOf(item: OutboxItem): { p: Principal; input: Record<string, unknown> } {
  const { principal: who, input } = item.payload as { principal: OutboxItem['payload']['principal']; input: Record<string, unknown> };
  const p: Principal = {
    clientId: who.clientId,
    role: 'contractor',
    scopes: new Set(ROLE_SCOPES.contractor),
    jurisdiction: who.jurisdiction,
    ...(who.contractor ? { contractor: who.contractor } : {}),
  };
  return { p, input };
}

/** The audit entry a replayed submission stages (canonical JSON); the batch statement adds the permit number to its `affected`. */
export type ReplayEntryStager = (item: OutboxItem) => string;

/**
 * Queued submissions applied together (src/resilience/replayer.ts `handleBatch`), in ONE transaction: every item's
 * checks are read at once (one pipelined round trip), then the accepted ones are written, with their staged audit
 * entries, by one statement per jurisdiction and year (src/db/submission-batch-statement.ts), in queue order, so the
 * numbers follow the queue. A refused item leaves nothing behind (its checks only read) and the others go on; any
 * other failure rolls the whole batch back (the replayer then replays its items one at a time, which also settles
 * two items of one key). Only `submitPermit` items are batched (`batchable`): scheduling an inspection writes in
 * several statements and may be refused after one of them.
 */
export function createBatchReplayHandler(db: Db, hooks: { onCommit?: ReplayCommitHook; stageEntry?: ReplayEntryStager } = {}) {
  const { onCommit, stageEntry } = hooks;
  return {
    batchable: (item: OutboxItem) => item.kind === 'submitPermit',
    handleBatch: (items: OutboxItem[]): Promise<ReplayResult[]> =>
      db.transaction(async (tx) => {
        const results: ReplayResult[] = new Array(items.length);
        const refuse = (i: number, err: unknown) => {
          if (!isDomainRefusal(err)) throw err;
          results[i] = { state: 'REJECTED', reason: (err as Error).message };
        };
        // every check at once: their reads share the transaction's connection, pipelined
        const planned = await Promise.allSettled(
          items.map(async (item) => {
            const { p, input } = principalOf(item);
            return planSubmission(tx, p, validateSubmission(input, item.idempotencyKey), { receiptId: item.id });
          }),
        );
        const groups = new Map<string, { batching: ChangeBatching; rows: Record<string, unknown>[]; at: number[] }>();
        for (const [i, outcome] of planned.entries()) {
          if (outcome.status === 'rejected') {
            refuse(i, outcome.reason);
            continue;
          }
          const plan = outcome.value;
          const item = items[i]!;
          if ('prior' in plan) {
            // already written by an earlier replay that died before settling: the same answer, audited as before
            await onCommit?.(tx, item, plan.prior.permitNumber ? [plan.prior.permitNumber] : []);
            results[i] = { state: 'PERSISTED', resultId: plan.prior.permitNumber! };
            continue;
          }
          const batching = plan.write.batch!;
          const group = groups.get(batching.group) ?? { batching, rows: [], at: [] };
          groups.set(batching.group, group);
          group.rows.push({ ...batching.row, audit_entry: stageEntry?.(item) ?? null });
          group.at.push(i);
        }
        for (const { batching, rows, at } of groups.values()) {
          const written = await batching.run(tx, batching.params, rows);
          if (written.length !== rows.length) throw new Error(`replay batch wrote ${written.length} of ${rows.length} submissions`);
          for (const [k, row] of written.entries()) results[at[k]!] = { state: 'PERSISTED', resultId: String(row.permit_num) };
        }
        return results;
      }),
  };
}

export function createReplayHandler(db: Db, onCommit?: ReplayCommitHook) {
  return async (item: OutboxItem): Promise<ReplayResult> => {
    const { p, input } = principalOf(item);
    try {
      if (item.kind === 'submitPermit') {
        const v = validateSubmission(input, item.idempotencyKey);
        const receipt = await db.transaction(async (tx) => {
          const r = await submitPermit(tx, p, v, { receiptId: item.id });
          await onCommit?.(tx, item, r.permitNumber ? [r.permitNumber] : []);
          return r;
        });
        return { state: 'PERSISTED', resultId: receipt.permitNumber! };
      }
      const { permitNumber, ...rest } = input as { permitNumber: string };
      const v = validateScheduling(rest, item.idempotencyKey);
      const inspection = await db.transaction(async (tx) => {
        const i = await scheduleInspection(tx, p, permitNumber, v, { id: item.id });
        await onCommit?.(tx, item, [permitNumber, `inspection:${i.id}`]);
        return i;
      });
      return { state: 'PERSISTED', resultId: inspection.id };
    } catch (err) {
      if (isDomainRefusal(err)) return { state: 'REJECTED', reason: (err as Error).message };
      throw err;
    }
  };
}
