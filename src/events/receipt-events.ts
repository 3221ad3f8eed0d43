/**
 * Receipt events: a submission accepted into the durable outbox during an outage was persisted or rejected by the
 * replay. Only the submitting client hears of its receipt (as only it may read it), through its webhooks and
 * its subscriptions. Written after the replay settled: the delivery rows and the change feed's rows (read by every
 * instance's subscribers once committed, src/db/change-feed.ts) of all the receipts a replay batch settled, in one
 * statement (its own transaction), instead of a transaction of two statements per receipt.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { EVENTS_CHANNEL } from './event-hub.ts';
import type { ChangeEvent } from './event-types.ts';

export interface ReceiptOutcome {
  receiptId: string;
  state: 'PERSISTED' | 'REJECTED';
  permitNumber: string | null;
  reason?: string;
  clientId: string;
  jurisdiction: string;
  contractor: string | null;
}

export async function publishReceiptEvents(db: Db, receipts: ReceiptOutcome[]): Promise<void> {
  if (receipts.length === 0) return;
  const rows = receipts.map((r) => {
    const type = r.state === 'PERSISTED' ? 'receipt.persisted' : 'receipt.rejected';
    const data = { id: r.receiptId, state: r.state, permitNumber: r.permitNumber, ...(r.reason ? { reason: r.reason.slice(0, 500) } : {}) };
    const event: ChangeEvent = { type, jurisdiction: r.jurisdiction, contractor: r.contractor, clientId: r.clientId, data };
    const body = { type, timestamp: new Date().toISOString(), data };
    // the receipt id orders a receipt's events, and is the permit's id once persisted
    return { receipt_id: r.receiptId, type, client_id: r.clientId, jurisdiction: r.jurisdiction, body, event: JSON.stringify(event) };
  });
  await db.execute(sql`
    with r as (
      select * from rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        as (receipt_id uuid, type text, client_id text, jurisdiction text, body jsonb, event text))
        with ordinality as x(receipt_id, type, client_id, jurisdiction, body, event, n)),
    d as (
      insert into webhook_deliveries (message_id, webhook_id, permit_id, event_type, body, next_attempt_at)
      -- a disabled webhook's deliveries wait until it is replayed (migration *_deliveries_wait_while_disabled)
      select 'msg_' || replace(gen_random_uuid()::text, '-', ''), w.id, r.receipt_id, r.type, r.body,
        case when w.active then now() else 'infinity'::timestamptz end
      from r join webhooks w
        on w.client_id = r.client_id and w.jurisdiction_id = r.jurisdiction and w.deleted_at is null and r.type = any (w.events)
      order by r.n)
    insert into change_events (channel, payload) select ${EVENTS_CHANNEL}, r.event from r order by r.n`);
}

export const publishReceiptEvent = (db: Db, r: ReceiptOutcome): Promise<void> => publishReceiptEvents(db, [r]);
