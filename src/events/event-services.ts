/**
 * The events feature as the rest of the app sees it: webhook registration and reads (for resolvers), subscription
 * streams, the delivery dispatcher and receipt events (for bootstrap). Built once per instance.
 */
import type { AppConfig } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Principal } from '../domain/principal.ts';
import type { Logger } from '../logger.ts';
import { createEventHub } from './event-hub.ts';
import type { DeliveryObserver } from './event-metrics.ts';
import type { EventTypeName } from './event-types.ts';
import { publishReceiptEvents, type ReceiptOutcome } from './receipt-events.ts';
import { withResourceLink, type EventBody } from './resource-link.ts';
import { createStreamRegistry } from './subscription-stream.ts';
import { createWebhookDispatcher } from './webhook-dispatcher.ts';
import { deleteWebhook, listWebhooks, registerWebhook, webhookDeliveryPage } from './webhook-store.ts';
import { registrationProblem, type TargetPolicy } from './webhook-target.ts';
import type { AuditedWork } from '../audit/audited-work.ts';
import { badInput } from '../errors.ts';

export interface EventServiceDeps {
  config: AppConfig;
  database: Database;
  log: Logger;
  isRevoked: (clientId: string) => boolean;
}

export function createEventServices(deps: EventServiceDeps) {
  const { config, database, log } = deps;
  /** Delivery figures go to the metrics once the app has registered them (src/events/event-metrics.ts). */
  let observer: DeliveryObserver | null = null;
  /** PUBLIC_URL as the app knows it (in development, with the port it bound): deliveries link to the permit under it. */
  let baseUrl = () => config.publicUrl;
  const policy: TargetPolicy = { production: config.env === 'production', allowPrivate: config.webhooks.allowPrivate };
  const dispatcher = createWebhookDispatcher({
    db: database.db,
    log,
    policy,
    baseUrl: () => baseUrl(),
    retryBaseMs: config.webhooks.retryBaseMs,
    timeoutMs: config.webhooks.timeoutMs,
    // embedded PGlite is one process's: what is claimed at start was claimed by a process that died
    soleInstance: database.kind === 'pglite',
    onDelivered: (ms) => observer?.delivered(ms),
    onFailed: (reason) => observer?.failed(reason),
  });
  // a committed event wakes this instance's dispatcher at once instead of at its next poll
  const hub = createEventHub({ database, log, onEvent: () => dispatcher.wake() });
  const streams = createStreamRegistry(hub, { perClient: config.subscriptionsPerClient, isRevoked: deps.isRevoked });
  // receipts settled together (a replay batch settles its items in one go) are written in one statement
  let pendingReceipts: ReceiptOutcome[] = [];
  let flush: Promise<void> | null = null;
  const publishReceipt = (r: ReceiptOutcome): Promise<void> => {
    pendingReceipts.push(r);
    flush ??= Promise.resolve().then(() => {
      const batch = pendingReceipts;
      pendingReceipts = [];
      flush = null;
      return publishReceiptEvents(database.db, batch);
    });
    return flush;
  };

  return {
    hub,
    streams,
    dispatcher,
    policy,
    observeDeliveries: (o: DeliveryObserver) => {
      observer = o;
    },
    useBaseUrl: (url: () => string) => {
      baseUrl = url;
    },
    /** Registers a webhook as an audited change; the URL is checked (DNS included) before the transaction opens. */
    async register(work: AuditedWork, p: Principal, input: { url: string; events: EventTypeName[] }) {
      const problem = await registrationProblem(input.url, policy);
      if (problem) throw badInput('input.url', `the webhook URL ${problem}`);
      return work.transaction(
        (tx) => registerWebhook(tx, p, input, policy),
        (r) => [`webhook:${r.webhook.id}`],
      );
    },
    delete: (work: AuditedWork, p: Principal, id: string) =>
      work.transaction(
        (tx) => deleteWebhook(tx, p, id),
        () => [`webhook:${id}`],
      ),
    list: (p: Principal) => listWebhooks(database.db, p),
    /** A page of deliveries, each body as it is sent (with its link). */
    async deliveries(p: Principal, webhookId: string, first?: number | null, after?: string | null) {
      const page = await webhookDeliveryPage(database.db, p, webhookId, first, after);
      const base = baseUrl();
      for (const e of page.edges) {
        const body = (typeof e.node.body === 'string' ? JSON.parse(e.node.body) : e.node.body) as EventBody;
        e.node.body = withResourceLink(body, base);
      }
      return page;
    },
    /** Publishes a settled receipt, with those settled in the same tick (resolves once written). */
    publishReceipt,
    async start() {
      await hub.start();
      await dispatcher.start();
    },
    async stop() {
      await dispatcher.stop();
      await hub.stop();
    },
  };
}
export type EventServices = ReturnType<typeof createEventServices>;
