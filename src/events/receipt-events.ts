/**
 * Receipt events: a submission accepted into the durable outbox during an outage was persisted or rejected by the
 * replay. Only the submitting client hears of its receipt (as only it may read it), through its webhooks and
 * its subscriptions. Written after the replay settled, in one transaction: the delivery rows and the NOTIFY.
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

export async function publishReceiptEvent(db: Db, r: ReceiptOutcome): Promise<void> {
  const type = r.state === 'PERSISTED' ? 'receipt.persisted' : 'receipt.rejected';
  const data = { id: r.receiptId, state: r.state, permitNumber: r.permitNumber, ...(r.reason ? { reason: r.reason.slice(0, 500) } : {}) };
  const event: ChangeEvent = { type, jurisdiction: r.jurisdiction, contractor: r.contractor, clientId: r.clientId, data };
  const body = { type, timestamp: new Date().toISOString(), data };
  // the receipt id orders a receipt's events, and is the permit's id once persisted
  await db.transaction(async (tx) => {
    await tx.execute(sql`
      insert into webhook_deliveries (message_id, webhook_id, permit_id, event_type, body)
      select 'msg_' || replace(gen_random_uuid()::text, '-', ''), w.id, ${r.receiptId}::uuid, ${type}, ${JSON.stringify(body)}::jsonb
      from webhooks w
      where w.client_id = ${r.clientId} and w.jurisdiction_id = ${r.jurisdiction} and w.active and ${type} = any (w.events)`);
    await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${JSON.stringify(event)})`);
  });
}
