/**
 * Applies one outbox item to the database on behalf of the client that queued it, with the same validation,
 * ownership and idempotency rules as a live request. A crash between the commit and `markPersisted` is harmless:
 * the next replay finds the idempotency key and answers with the same result.
 */
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

export function createReplayHandler(db: Db, onCommit?: ReplayCommitHook) {
  return async (item: OutboxItem): Promise<ReplayResult> => {
    const { principal: who, input } = item.payload as { principal: OutboxItem['payload']['principal']; input: Record<string, unknown> };
    const p: Principal = {
      clientId: who.clientId,
      role: 'contractor',
      scopes: new Set(ROLE_SCOPES.contractor),
      jurisdiction: who.jurisdiction,
      ...(who.contractor ? { contractor: who.contractor } : {}),
    };
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
