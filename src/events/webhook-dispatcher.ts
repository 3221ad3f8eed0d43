/**
 * Sends due webhook deliveries (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`), from
 * any number of instances on one PostgreSQL. A claim is a lease: the row stays `pending` with its due time moved
 * forward by the lease, under `FOR UPDATE SKIP LOCKED` so two instances never take the same row; an instance that
 * dies mid-delivery (`kill -9`) only delays it until the lease runs out, and then any instance (the restarted one
 * too) sends it again with the same `webhook-id` (test/faults/webhook-kill.test.ts). A delivery waits while an earlier one
 * for the same permit and webhook is pending, which keeps each permit's events in order.
 *
 * Tracing on: each attempt is a CLIENT span of a trace of its own (`webhook.delivery`: webhook, message id, attempt,
 * the receiver's status, the outcome recorded as its child statements), and the request carries its `traceparent`,
 * so a receiver that traces continues it. It links to no request: the delivery row is written by a database trigger
 * in the change's transaction, which sees no span, and an attempt may run a day after the change.
 */
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import type { Db } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';
import type { Logger } from '../logger.ts';
import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import { inSpan, traceHeaders } from '../ops/tracing.ts';
import { linkHeaderOf, withResourceLink, type EventBody } from './resource-link.ts';
import { DEFAULT_GIVE_UP_AFTER_MS, DEFAULT_RETRY_BASE_MS, retryDelayMs } from './retry-schedule.ts';
import { deliveryTarget, type Resolve, type TargetPolicy } from './webhook-target.ts';

export interface DispatcherOptions {
  db: Db;
  log: Logger;
  policy: TargetPolicy;
  /** PUBLIC_URL, for the link to the permit each delivery is about (src/events/resource-link.ts). @default no link */
  baseUrl?: () => string;
  /** First retry delay; each further one doubles (capped at an hour), with ±50 % jitter. @default 5000 */
  retryBaseMs?: number;
  /** A delivery failing for this long is dead-lettered. @default 25 h (issue 22: at least a day) */
  giveUpAfterMs?: number;
  /** A webhook whose deliveries have failed for this long, without a success, is disabled. @default 3 days */
  disableAfterMs?: number;
  /** How often due deliveries are looked for when nothing wakes the dispatcher. @default 1000 */
  pollMs?: number;
  /**
   * How long a claimed delivery is held before another instance may take it: longer than any attempt (the request,
   * its DNS lookup and the write of its outcome). @default twice `timeoutMs`, at least `timeoutMs` + 5 s
   */
  claimLeaseMs?: number;
  /**
   * No other process can use this database (embedded PGlite locks its directory to one process): at start, every
   * pending delivery is due at once, so the claims a killed process left behind go out now instead of when their
   * lease runs out (a delivery waiting out a retry delay is tried once more, early). @default false
   */
  soleInstance?: boolean;
  /** Deliveries in flight at once on this instance. @default 32 */
  concurrency?: number;
  /** Per request: connecting and reading the answer together. @default 10000 */
  timeoutMs?: number;
  /**
   * The addresses a target's host name has now, looked up before every attempt; a test gives names of its own
   * (DNS rebinding, pinning) without a DNS server. @default the system resolver (`dns.lookup`, every address)
   */
  resolve?: Resolve;
  onDelivered?: (latencyMs: number) => void;
  onFailed?: (reason: string) => void;
}

/** Bytes of a receiver's answer read (and kept, shortened, as the error) before the connection is dropped. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const BATCH = 20;

interface Claimed {
  seq: number;
  message_id: string;
  body: unknown;
  attempts: number;
  created_at: string | Date;
  retry_from: string | Date;
  url: string;
  secret: string;
  webhook_id: string;
}

/** Reads at most `max` bytes of a body, then cancels the rest (a receiver cannot make us buffer without bound). */
async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < max) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
  }
  await reader.cancel().catch(() => {});
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, max));
}

export function createWebhookDispatcher(opts: DispatcherOptions) {
  const { db, log, policy } = opts;
  const base = opts.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
  const giveUpAfter = opts.giveUpAfterMs ?? DEFAULT_GIVE_UP_AFTER_MS;
  const disableAfter = opts.disableAfterMs ?? 3 * 24 * 3600_000;
  const pollMs = opts.pollMs ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const leaseMs = Math.max(opts.claimLeaseMs ?? Math.max(2 * timeoutMs, timeoutMs + 5000), timeoutMs + 1000);
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running: Promise<void> | null = null;
  let stopped = true;
  let again = false;
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = opts.concurrency ?? 32;

  async function claim(limit: number): Promise<Claimed[]> {
    return rowsOf<Claimed>(
      await db.execute(sql`
        with due as (
          select d.seq from webhook_deliveries d
          -- a disabled webhook's deliveries wait (pending) until an operator replays them, rather than failing again
          where d.state = 'pending' and d.next_attempt_at <= now()
            and exists (select 1 from webhooks w where w.id = d.webhook_id and w.active)
            and not exists (select 1 from webhook_deliveries e where e.webhook_id = d.webhook_id and e.permit_id = d.permit_id
                            and e.seq < d.seq and e.state = 'pending')
          order by d.seq limit ${limit}
          for update of d skip locked)
        update webhook_deliveries d set next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000}), attempts = d.attempts + 1
        from due, webhooks w
        where d.seq = due.seq and w.id = d.webhook_id
        returning d.seq, d.message_id, d.body, d.attempts, d.created_at, d.retry_from, w.url, w.secret, w.id as webhook_id`),
    );
  }

  async function send(d: Claimed): Promise<{ ok: true; status: number } | { ok: false; status: number | null; error: string }> {
    const target = await deliveryTarget(d.url, policy, opts.resolve);
    if ('problem' in target) return { ok: false, status: null, error: `target refused: the URL ${target.problem}` };
    const stored = (typeof d.body === 'string' ? JSON.parse(d.body) : d.body) as EventBody;
    const sent = opts.baseUrl ? withResourceLink(stored, opts.baseUrl()) : stored;
    const body = JSON.stringify(sent);
    const link = linkHeaderOf(sent);
    const timestamp = new Date();
    const signature = new Webhook(d.secret).sign(d.message_id, timestamp, body);
    try {
      // to the address just checked, never to a second DNS answer; the certificate is checked against the name
      const res = await fetch(target.url, {
        method: 'POST',
        ...(target.serverName ? { tls: { serverName: target.serverName } } : {}),
        redirect: 'manual', // a redirect could lead anywhere, an internal address included
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          host: target.host,
          'content-type': 'application/json',
          'user-agent': 'permit-gateway-webhooks',
          'webhook-id': d.message_id,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': signature,
          ...(link ? { link } : {}),
          // the delivery's span: a receiver that traces continues it
          ...traceHeaders(),
        },
        body,
      });
      const text = await readCapped(res, MAX_RESPONSE_BYTES);
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
      const why = res.status >= 300 && res.status < 400 ? 'redirect not followed' : text.slice(0, 200);
      return { ok: false, status: res.status, error: `HTTP ${res.status}${why ? `: ${why}` : ''}` };
    } catch (err) {
      return {
        ok: false,
        status: null,
        error: (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message.slice(0, 200),
      };
    }
  }

  async function settle(d: Claimed, r: Awaited<ReturnType<typeof send>>) {
    if (r.ok) {
      await db.execute(sql`
        with d as (update webhook_deliveries set state = 'delivered', delivered_at = now(), last_status = 200, last_error = null
                   where seq = ${d.seq} returning webhook_id)
        update webhooks set last_success_at = now() where id in (select webhook_id from d)`);
      opts.onDelivered?.(Date.now() - new Date(d.created_at).getTime());
      return;
    }
    opts.onFailed?.(r.status !== null ? `http_${r.status}` : r.error.startsWith('target refused') ? 'refused' : 'error');
    // the window runs from when it was queued or last replayed: a replayed delivery gets a full window again
    const dead = Date.now() - new Date(d.retry_from).getTime() >= giveUpAfter;
    const next = new Date(Date.now() + retryDelayMs(d.attempts, base));
    await db.execute(sql`
      update webhook_deliveries set state = ${dead ? 'dead' : 'pending'}, next_attempt_at = ${next.toISOString()}::timestamptz,
        last_status = ${r.status}, last_error = ${r.error} where seq = ${d.seq}`);
    if (dead) {
      // failing for days without one success: its deliveries wait for an operator's replay; say why where its owner looks
      await db.execute(sql`
        update webhooks set active = false,
          disabled_reason = ${`disabled after failing since ${new Date(Date.now() - disableAfter).toISOString()}: ${r.error}`}
        where id = ${d.webhook_id} and active
          and coalesce(last_success_at, created_at) < now() - make_interval(secs => ${disableAfter / 1000})`);
    }
  }

  /** Sends one claimed delivery and records the outcome. */
  async function deliver(d: Claimed): Promise<void> {
    const r = await inSpan(
      'webhook.delivery',
      {
        'permit_gateway.webhook.id': d.webhook_id,
        'permit_gateway.webhook.message_id': d.message_id,
        'permit_gateway.webhook.attempt': d.attempts,
        'http.request.method': 'POST',
      },
      async (span?: Span) => {
        const sent = await send(d);
        if (sent.status !== null) span?.setAttribute('http.response.status_code', sent.status);
        span?.setAttribute('permit_gateway.webhook.outcome', sent.ok ? 'delivered' : 'failed');
        if (!sent.ok) span?.setStatus({ code: SpanStatusCode.ERROR, message: sent.error });
        await settle(d, sent);
        return sent;
      },
      { root: true, kind: SpanKind.CLIENT },
    );
    if (!r.ok) log.warn({ webhook: d.webhook_id, messageId: d.message_id, attempt: d.attempts, err: r.error }, 'webhook delivery failed');
  }

  /** Claims and sends until nothing is due, batch after batch (tests, shutdown). */
  async function drain(): Promise<void> {
    for (;;) {
      const batch = await claim(BATCH);
      if (!batch.length) return;
      await Promise.all(batch.map(deliver));
    }
  }

  /**
   * Claims while there is room: each delivery runs on its own and a finished one makes room for the next, so a
   * receiver that is slow to answer holds one slot, not a whole batch of other webhooks' deliveries.
   */
  async function pump(): Promise<void> {
    while (!stopped && inFlight.size < maxInFlight) {
      const batch = await claim(Math.min(BATCH, maxInFlight - inFlight.size));
      if (!batch.length) return;
      for (const d of batch) {
        const p: Promise<void> = deliver(d)
          .catch((err) => log.warn({ err: (err as Error).message, messageId: d.message_id }, 'webhook delivery not recorded'))
          .finally(() => {
            inFlight.delete(p);
            tick();
          });
        inFlight.add(p);
      }
    }
  }

  function tick() {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    if (timer) clearTimeout(timer);
    running = pump()
      .catch((err) => log.warn({ err: (err as Error).message }, 'webhook dispatch failed'))
      .finally(() => {
        running = null;
        if (stopped) return;
        if (again) {
          again = false;
          queueMicrotask(tick);
        } else {
          timer = setTimeout(tick, pollMs);
          timer.unref?.();
        }
      });
  }

  /** See `soleInstance`. */
  async function releaseEarlierClaims(): Promise<void> {
    const released = rowsOf<{ seq: number }>(
      await db.execute(sql`update webhook_deliveries set next_attempt_at = now()
        where state = 'pending' and next_attempt_at > now() and next_attempt_at <> 'infinity' returning seq`),
    ).length;
    if (released) log.info({ released }, 'webhook deliveries of an earlier process are due again');
  }

  return {
    async start() {
      stopped = false;
      if (opts.soleInstance)
        await releaseEarlierClaims().catch((err) => log.warn({ err: (err as Error).message }, 'earlier webhook claims not released'));
      tick();
    },
    /** Looks for due deliveries now (an event was just committed). */
    wake: tick,
    drainOnce: drain,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      await Promise.all(inFlight);
    },
  };
}
export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>;
