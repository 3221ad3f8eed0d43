/**
 * Prometheus metrics of change events, on the app's registry: webhook delivery latency (event committed → receiver
 * answered 2xx), failed attempts by reason, the backlog of pending deliveries, open subscription streams.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';

export interface DeliveryObserver {
  delivered(latencyMs: number): void;
  failed(reason: string): void;
}

/** Failure reasons with their own label; anything else is `other` (bounded cardinality). */
const REASONS = new Set([
  'error',
  'refused',
  'http_400',
  'http_404',
  'http_410',
  'http_429',
  'http_500',
  'http_502',
  'http_503',
  'http_504',
]);

export function registerEventMetrics(registry: Registry, db: Db, openStreams: () => number): DeliveryObserver {
  const latency = new Histogram({
    name: 'webhook_delivery_latency_seconds',
    help: 'Time from the event (its commit) to a receiver answering 2xx, retries included',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60, 600, 3600, 86400],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'webhook_delivery_failures_total',
    help: 'Webhook delivery attempts that failed, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  let lastBacklog = 0;
  new Gauge({
    name: 'webhook_deliveries_pending',
    help: 'Webhook deliveries not delivered or dead-lettered yet (all instances)',
    registers: [registry],
    async collect() {
      // a scrape never waits on a slow or unreachable database: the last known figure stands
      const count = db
        .execute(sql`select count(*)::int as n from webhook_deliveries where state = 'pending'`)
        .then((r) => (lastBacklog = Number(rowsOf<{ n: number }>(r)[0]?.n ?? 0)))
        .catch(() => lastBacklog);
      this.set(await Promise.race([count, Bun.sleep(500).then(() => lastBacklog)]));
    },
  });
  new Gauge({
    name: 'subscription_streams_open',
    help: 'Open GraphQL subscription streams on this instance',
    registers: [registry],
    collect() {
      this.set(openStreams());
    },
  });
  return {
    delivered: (ms) => latency.observe(ms / 1000),
    failed: (reason) => failures.inc({ reason: REASONS.has(reason) ? reason : 'other' }),
  };
}
