/**
 * Registering, listing and deleting webhooks, and reading their deliveries. A webhook belongs to the client that
 * registered it; it hears its jurisdiction's events, and a contractor's only its own permits' (the read policy's
 * rule, src/domain/visibility.ts). Event bodies hold public permit fields only, so a GIS vendor hears no more than
 * it may read.
 */
import { randomBytes } from 'node:crypto';
import { and, desc, eq, isNull, lt, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { webhookDeliveries, webhooks, type WebhookRow } from '../db/schema/webhooks.ts';
import { ownPermitsOnly, type Principal } from '../domain/principal.ts';
import { pageSize } from '../domain/pagination.ts';
import { badInput, notFound } from '../errors.ts';
import { EVENT_TYPES, eventTypeOf, type EventTypeName } from './event-types.ts';
import { urlProblem, type TargetPolicy } from './webhook-target.ts';

/** Webhooks one client may hold: each is a delivery stream the dispatcher serves. */
export const MAX_WEBHOOKS_PER_CLIENT = 10;

/** A Standard Webhooks secret: `whsec_` and base64 of 32 random bytes. */
export const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

export interface RegisterWebhookInput {
  url: string;
  events: EventTypeName[];
}

/** Writes a webhook (in the caller's transaction); the URL's DNS answer is checked by the caller before. */
export async function registerWebhook(db: Executor, p: Principal, input: RegisterWebhookInput, policy: TargetPolicy) {
  const problem = urlProblem(input.url, policy);
  if (problem) throw badInput('input.url', `the webhook URL ${problem}`);
  const events = [...new Set(input.events)];
  if (!events.length || events.some((e) => !(e in EVENT_TYPES))) throw badInput('input.events', 'name at least one event type');
  const own = ownPermitsOnly(p);
  if (own && !p.contractor) throw badInput('input', 'only a client bound to a contractor record can register a webhook for its permits');
  const [{ n } = { n: 0 }] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(webhooks)
    .where(and(eq(webhooks.clientId, p.clientId), isNull(webhooks.deletedAt)));
  if (Number(n) >= MAX_WEBHOOKS_PER_CLIENT)
    throw badInput('input', `a client may hold at most ${MAX_WEBHOOKS_PER_CLIENT} webhooks; delete one first`);
  const secret = newWebhookSecret();
  const [row] = await db
    .insert(webhooks)
    .values({
      clientId: p.clientId,
      jurisdictionId: p.jurisdiction,
      contractorLicense: own ? p.contractor! : null,
      url: input.url,
      events: events.map(eventTypeOf),
      secret,
    })
    .returning();
  return { webhook: row!, secret };
}

const ownWebhook = (p: Principal, id: string) =>
  and(eq(webhooks.id, id), eq(webhooks.clientId, p.clientId), eq(webhooks.jurisdictionId, p.jurisdiction), isNull(webhooks.deletedAt));

const isUuid = (id: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);

/** Stops a webhook: nothing more is queued for it; its past deliveries stay readable to operators. */
export async function deleteWebhook(db: Executor, p: Principal, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const rows = await db
    .update(webhooks)
    .set({ active: false, deletedAt: new Date() })
    .where(ownWebhook(p, id))
    .returning({ id: webhooks.id });
  if (rows.length) {
    await db
      .update(webhookDeliveries)
      .set({ state: 'dead', lastError: 'webhook deleted' })
      .where(and(eq(webhookDeliveries.webhookId, id), eq(webhookDeliveries.state, 'pending')));
  }
  return rows.length > 0;
}

export function listWebhooks(db: Executor, p: Principal): Promise<WebhookRow[]> {
  return db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.clientId, p.clientId), eq(webhooks.jurisdictionId, p.jurisdiction), isNull(webhooks.deletedAt)))
    .orderBy(webhooks.createdAt);
}

const encodeSeq = (seq: number) => Buffer.from(`d:${seq}`).toString('base64url');
function decodeSeq(cursor: string | null | undefined): number | null {
  if (!cursor) return null;
  const m = /^d:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw badInput('after', 'is not a cursor this API issued');
  return Number(m[1]);
}

/** A page of one own webhook's deliveries, newest first. */
export async function webhookDeliveryPage(db: Executor, p: Principal, webhookId: string, first?: number | null, after?: string | null) {
  const size = pageSize(first);
  const afterSeq = decodeSeq(after);
  const [hook] = isUuid(webhookId) ? await db.select().from(webhooks).where(ownWebhook(p, webhookId)) : [];
  if (!hook) throw notFound(`webhook ${webhookId}`);
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.webhookId, webhookId), afterSeq === null ? undefined : lt(webhookDeliveries.seq, afterSeq)))
    .orderBy(desc(webhookDeliveries.seq))
    .limit(size + 1);
  const nodes = rows.slice(0, size);
  return {
    // its state and, once the server disabled it, why: what its owner reads beside the failures
    webhook: hook,
    edges: nodes.map((n) => ({ cursor: encodeSeq(n.seq), node: n })),
    pageInfo: {
      hasNextPage: rows.length > size,
      startCursor: nodes[0] ? encodeSeq(nodes[0].seq) : null,
      endCursor: nodes.at(-1) ? encodeSeq(nodes.at(-1)!.seq) : null,
    },
  };
}
