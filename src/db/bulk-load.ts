/**
 * Bulk loads (the demo seed, imports of legacy records) write history that is not news: this switches off the change
 * events (webhook deliveries and NOTIFY, migration 0012_webhook_event_triggers) for the rest of the transaction, which
 * also keeps the load fast (the seed takes about half the time without them).
 */
import { sql } from 'drizzle-orm';
import type { Tx } from './client.ts';

export async function suppressChangeEvents(tx: Tx): Promise<void> {
  await tx.execute(sql`select set_config('permit_gateway.suppress_events', 'on', true)`);
}
