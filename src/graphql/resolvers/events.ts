/** Webhooks and subscriptions (issue 22): thin, the rules are in src/events/. */
import { decodeJwt } from 'jose';
import { jsonOf } from '../../db/rows.ts';
import type { WebhookDeliveryRow, WebhookRow } from '../../db/schema/webhooks.ts';
import { eventNameOf, type ChangeEvent, type EventTypeName } from '../../events/event-types.ts';
import { principalOf, type GraphQLContext } from '../context.ts';

const webhookView = (w: WebhookRow) => ({
  id: w.id,
  url: w.url,
  events: w.events.map(eventNameOf).filter(Boolean),
  active: w.active,
  disabledReason: w.disabledReason,
  createdAt: w.createdAt,
});

const deliveryView = (d: WebhookDeliveryRow) => ({
  id: d.messageId,
  eventType: eventNameOf(d.eventType),
  state: d.state.toUpperCase(),
  attempts: d.attempts,
  lastStatus: d.lastStatus,
  lastError: d.lastError,
  createdAt: d.createdAt,
  // a disabled webhook's deliveries wait with no time set (due at 'infinity' until it is replayed)
  nextAttemptAt: d.state === 'pending' && Number.isFinite(d.nextAttemptAt.getTime()) ? d.nextAttemptAt : null,
  deliveredAt: d.deliveredAt,
  payload: jsonOf(d.body as object),
});

/** When the request's token expires: a stream ends then (the token was verified by authentication already). */
function tokenExpiry(ctx: GraphQLContext): Date {
  const bearer = /^Bearer\s+(\S+)$/i.exec(ctx.request.headers.get('authorization') ?? '')?.[1];
  const exp = bearer ? decodeJwt(bearer).exp : undefined;
  return new Date((exp ?? Date.now() / 1000) * 1000);
}

const subscribe =
  <A>(accept: (e: ChangeEvent, args: A) => boolean) =>
  (_: unknown, args: A, ctx: GraphQLContext) =>
    ctx.services.events.streams.stream(principalOf(ctx), tokenExpiry(ctx), (e) => accept(e, args));

const PERMIT_EVENTS = new Set(['permit.submitted', 'permit.status_changed']);
const INSPECTION_EVENTS = new Set(['inspection.scheduled', 'inspection.resulted']);
const RECEIPT_EVENTS = new Set(['receipt.persisted', 'receipt.rejected']);

export const eventResolvers = {
  Query: {
    webhooks: async (_: unknown, __: unknown, ctx: GraphQLContext) => (await ctx.services.events.list(principalOf(ctx))).map(webhookView),
    webhookDeliveries: async (
      _: unknown,
      args: { webhookId: string; first?: number | null; after?: string | null },
      ctx: GraphQLContext,
    ) => {
      const page = await ctx.services.events.deliveries(principalOf(ctx), args.webhookId, args.first, args.after);
      return {
        ...page,
        webhook: webhookView(page.webhook),
        edges: page.edges.map((e) => ({ cursor: e.cursor, node: deliveryView(e.node) })),
      };
    },
  },
  Mutation: {
    registerWebhook: async (_: unknown, args: { input: { url: string; events: EventTypeName[] } }, ctx: GraphQLContext) => {
      const r = await ctx.services.events.register(ctx.work, principalOf(ctx), args.input);
      return { webhook: webhookView(r.webhook), secret: r.secret };
    },
    deleteWebhook: (_: unknown, args: { id: string }, ctx: GraphQLContext) =>
      ctx.services.events.delete(ctx.work, principalOf(ctx), args.id),
  },
  Subscription: {
    permitStatusChanged: {
      subscribe: subscribe<{ number?: string | null }>(
        (e, a) => PERMIT_EVENTS.has(e.type) && (!a.number || e.data.permitNumber === a.number),
      ),
      resolve: (e: ChangeEvent) => ({
        permitNumber: e.data.permitNumber,
        status: e.data.status,
        previousStatus: e.data.previousStatus ?? null,
        changedAt: e.data.changedAt,
      }),
    },
    inspectionChanged: {
      subscribe: subscribe<{ permitNumber?: string | null }>(
        (e, a) => INSPECTION_EVENTS.has(e.type) && (!a.permitNumber || e.data.permitNumber === a.permitNumber),
      ),
      resolve: (e: ChangeEvent) => ({
        ...e.data,
        rescheduled: e.data.rescheduled === true,
        previousWindowStart: e.data.previousWindowStart ?? null,
        previousWindowEnd: e.data.previousWindowEnd ?? null,
      }),
    },
    submissionReceiptChanged: {
      subscribe: subscribe<{ id: string }>((e, a) => RECEIPT_EVENTS.has(e.type) && e.data.id === a.id),
      resolve: (e: ChangeEvent) => ({
        id: e.data.id,
        state: e.data.state,
        permitNumber: e.data.permitNumber ?? null,
        reason: e.data.reason ?? null,
      }),
    },
  },
};
