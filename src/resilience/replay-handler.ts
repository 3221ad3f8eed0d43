/**
 * Applies one outbox item to the database on behalf of the client that queued it, with the same validation,
 * ownership and idempotency rules as a live request. A crash between the commit and `markPersisted` is harmless:
 * the next replay finds the idempotency key and answers with the same result.
 */
import { sql } from 'drizzle-orm';
import type { GraphQLError } from 'graphql';
import { ROLE_SCOPES } from '../auth/policy.ts';
import type { Db, Tx } from '../db/client.ts';
import { scheduleInspection, validateScheduling } from '../domain/inspections.ts';
import { submitPermit, validateSubmission } from '../domain/permit-writes.ts';
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

/**
 * Queued submissions applied together (src/resilience/replayer.ts `handleBatch`): in order, in ONE transaction, one
 * commit for them all. A submission's checks only read and its write is one statement, so a refused item leaves
 * nothing behind and the others go on; any other failure rolls the whole batch back (the replayer then replays its
 * items one at a time). Only `submitPermit` items are batched (`batchable`): scheduling an inspection writes in
 * several statements and may be refused after one of them.
 */
export function createBatchReplayHandler(db: Db, onCommit?: ReplayCommitHook) {
  return {
    batchable: (item: OutboxItem) => item.kind === 'submitPermit',
    handleBatch: (items: OutboxItem[]): Promise<ReplayResult[]> =>
      db.transaction(async (tx) => {
        const results: ReplayResult[] = [];
        for (const item of items) {
          const { p, input } = principalOf(item);
          try {
            const v = validateSubmission(input, item.idempotencyKey);
            const r = await submitPermit(tx, p, v, { receiptId: item.id });
            await onCommit?.(tx, item, r.permitNumber ? [r.permitNumber] : []);
            results.push({ state: 'PERSISTED', resultId: r.permitNumber! });
          } catch (err) {
            if (!isDomainRefusal(err)) throw err;
            results.push({ state: 'REJECTED', reason: (err as Error).message });
          }
        }
        // a refusal made of a failed statement would leave the transaction aborted, and COMMIT would then roll back
        // without an error: this fails instead, and the batch goes one item at a time
        await tx.execute(sql`select 1`);
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
