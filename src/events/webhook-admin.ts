/** What operators see and do (`cli webhooks list|replay`): every webhook's delivery figures, and replays. */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';

export interface WebhookSummary {
  id: string;
  clientId: string;
  jurisdiction: string;
  url: string;
  events: string[];
  active: boolean;
  deleted: boolean;
  disabledReason: string | null;
  pending: number;
  delivered: number;
  dead: number;
  lastError: string | null;
}

export async function webhookSummaries(db: Db): Promise<WebhookSummary[]> {
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select w.id::text, w.client_id, w.jurisdiction_id, w.url, w.events, w.active, w.deleted_at is not null as deleted, w.disabled_reason,
        count(*) filter (where d.state = 'pending')::int as pending,
        count(*) filter (where d.state = 'delivered')::int as delivered,
        count(*) filter (where d.state = 'dead')::int as dead,
        (array_agg(d.last_error order by d.seq desc) filter (where d.last_error is not null))[1] as last_error
      from webhooks w left join webhook_deliveries d on d.webhook_id = w.id
      group by w.id order by w.created_at`),
  );
  return rows.map((r) => ({
    id: String(r.id),
    clientId: String(r.client_id),
    jurisdiction: String(r.jurisdiction_id),
    url: String(r.url),
    events: r.events as string[],
    active: Boolean(r.active),
    deleted: Boolean(r.deleted),
    disabledReason: (r.disabled_reason as string | null) ?? null,
    pending: Number(r.pending),
    delivered: Number(r.delivered),
    dead: Number(r.dead),
    lastError: (r.last_error as string | null) ?? null,
  }));
}

/**
 * Sends a webhook's deliveries again: the dead-lettered ones, or with `since` every delivery created since then
 * (delivered ones too). Each keeps its webhook-id, so a receiver that already has it can tell. A webhook the
 * server had disabled is enabled again; a deleted one is refused. Answers the number queued, or null (no webhook).
 */
export async function replayDeliveries(db: Db, webhookId: string, since?: Date): Promise<number | null> {
  return db.transaction(async (tx) => {
    const [hook] = rowsOf<{ id: string }>(
      await tx.execute(sql`update webhooks set active = true, disabled_reason = null
        where id = ${webhookId}::uuid and deleted_at is null returning id`),
    );
    if (!hook) return null;
    // what was queued while it was disabled waited (due at 'infinity'): due now
    const waiting = rowsOf<{ seq: number }>(
      await tx.execute(sql`update webhook_deliveries set next_attempt_at = now(), retry_from = now()
        where webhook_id = ${webhookId}::uuid and state = 'pending' and next_attempt_at = 'infinity' returning seq`),
    );
    const rows = rowsOf<{ seq: number }>(
      await tx.execute(sql`
        update webhook_deliveries set state = 'pending', attempts = 0, next_attempt_at = now(), retry_from = now(), last_error = null
        where webhook_id = ${webhookId}::uuid and state <> 'pending'
          and ${since ? sql`created_at >= ${since.toISOString()}::timestamptz` : sql`state = 'dead'`}
        returning seq`),
    );
    return waiting.length + rows.length;
  });
}
