/**
 * Application services: the domain operations that need more than one transaction or a fallback path
 * (status cache, durable outbox, circuit breaker). Resolvers call these; these call domain/.
 */
import type { Database } from './db/client.ts';
import type { AppConfig } from './config.ts';
import { scheduleInspection, validateScheduling } from './domain/inspections.ts';
import { findPriorSubmission, planSubmission, validateSubmission, type SubmissionReceipt } from './domain/permit-writes.ts';
import { getPermitById, getPublicStatus } from './domain/permit-reads.ts';
import { isUniqueViolation } from './domain/db-errors.ts';
import type { Principal } from './domain/principal.ts';
import type { Permit } from './db/schema/permits.ts';
import { conflict, serviceDegraded } from './errors.ts';
import type { AuditedWork } from './audit/audited-work.ts';
import type { Logger } from './logger.ts';
import { BreakerOpenError, isDatabaseUnavailable, type DbBreaker } from './resilience/breaker.ts';
import { activeTraceparent } from './ops/tracing.ts';
import { OutboxConflictError, type Outbox } from './resilience/outbox.ts';
import { REFRESH_MS, type StatusCache } from './resilience/status-cache.ts';
import type { Revocations } from './auth/revocations.ts';
import type { EventServices } from './events/event-services.ts';
import { createChangeCounters } from './db/change-counters.ts';
import { createPublicStatusMemo } from './db/public-status-memo.ts';
import { changeCounter } from './domain/change-counter.ts';

export interface ServiceDeps {
  config: AppConfig;
  database: Database;
  log: Logger;
  breaker: DbBreaker;
  statusCache: StatusCache;
  outbox: Outbox;
  revocations: Revocations;
  /** False until the database was reached once since start (e.g. started during an outage). */
  isConnected?: () => boolean;
}

export function createServices(deps: ServiceDeps) {
  const { database, breaker, statusCache, outbox } = deps;
  /** Known to be down: the breaker is open, or the database has not been reached since start. */
  const down = () => breaker.isOpen() || !(deps.isConnected?.() ?? true);

  /** Every status the API writes or reads refreshes the cache that answers during an outage. */
  const rememberStatus = (permit: Permit) =>
    statusCache.set({
      number: permit.permitNum,
      jurisdiction: permit.jurisdictionId,
      status: permit.statusCurrent,
      updatedAt: permit.updatedAt,
    });

  /** Status reads are coalesced across requests: the breaker guards each batch's statement (one call per batch). */
  const guardedByBreaker = <T>(fn: () => Promise<T>) => breaker.execute(fn);

  /** What this instance has heard of each jurisdiction's changes (OGC ETags; the public status memo below). */
  const changeCounters = createChangeCounters({
    read: (jurisdiction) => breaker.execute(() => changeCounter(database.db, jurisdiction)),
    listen: (channel, onMessage, onReconnect) => database.listen(channel, onMessage, onReconnect),
    log: deps.log,
  });
  /** Public status answers kept while no change of their jurisdiction was heard: a repeated poll reads nothing. */
  const statusMemo = createPublicStatusMemo(changeCounters);
  /**
   * When this process last refreshed the outage cache from each remembered answer: a repeated poll answered by the
   * same row within {@link REFRESH_MS} skips the refresh, which would find the cache already fresh (its check cost a
   * few µs of a poll that reads nothing).
   */
  const refreshedFrom = new WeakMap<object, number>();

  async function permitStatus(number: string) {
    try {
      if (down()) throw new BreakerOpenError(0);
      const row = await statusMemo.get(number, () => getPublicStatus(database.db, number, guardedByBreaker));
      if (!row) return null;
      const asOf = new Date();
      const now = asOf.getTime();
      const last = refreshedFrom.get(row);
      if (last === undefined || now - last >= REFRESH_MS || now < last) {
        refreshedFrom.set(row, now);
        await statusCache.refresh(
          { number: row.number, jurisdiction: row.jurisdiction, status: row.status, updatedAt: row.updatedAt },
          now,
        );
      }
      return { number: row.number, status: row.status, updatedAt: row.updatedAt, stale: false, asOf };
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      const cached = await statusCache.get(number);
      if (!cached) throw serviceDegraded('The permit database is unavailable and this permit is not in the status cache');
      return {
        number: cached.number,
        status: cached.status,
        updatedAt: new Date(cached.updatedAt),
        stale: true,
        asOf: new Date(cached.asOf),
      };
    }
  }

  function queue(
    work: AuditedWork,
    kind: 'submitPermit' | 'scheduleInspection',
    p: Principal,
    key: string,
    input: unknown,
  ): SubmissionReceipt {
    try {
      const audit = work.deferredEntry();
      const traceparent = activeTraceparent();
      const r = outbox.enqueue({
        kind,
        idempotencyKey: key,
        input,
        principal: { clientId: p.clientId, jurisdiction: p.jurisdiction, contractor: p.contractor ?? null },
        ...(audit ? { audit } : {}),
        // the replay, minutes or a restart later, links its span to this request's
        ...(traceparent ? { traceparent } : {}),
      });
      deps.log.warn({ receipt: r.id, kind }, 'database unavailable: request queued in the outbox');
      return { id: r.id, state: 'QUEUED', permitNumber: null };
    } catch (err) {
      if (err instanceof OutboxConflictError) throw conflict(`idempotencyKey ${key} was already used for a different request`);
      throw err;
    }
  }

  async function submit(work: AuditedWork, p: Principal, rawInput: unknown, rawKey: unknown) {
    const v = validateSubmission(rawInput, rawKey);
    if (down()) return { receipt: queue(work, 'submitPermit', p, v.key, { ...v.input }), permit: null };
    try {
      // checks in one read, then the write with its audit entry as one statement (its own transaction); a replay
      // of an earlier submission is audited naming the permit it returns
      const receipt = await breaker.execute(async () => {
        const plan = await planSubmission(database.db, p, v);
        if ('write' in plan) return work.write(plan.write);
        return work.transaction(
          async () => plan.prior,
          (r) => (r.permitNumber ? [r.permitNumber] : []),
        );
      });
      if (receipt.submittedAt && receipt.permitNumber) {
        // a new permit: its status is known without reading it back, and the permit is read only if asked for
        await statusCache.set({
          number: receipt.permitNumber,
          jurisdiction: p.jurisdiction,
          status: 'SUBMITTED',
          updatedAt: receipt.submittedAt,
        });
        return { receipt, permit: () => getPermitById(database.db, p, receipt.id) };
      }
      const permit = await getPermitById(database.db, p, receipt.id);
      if (permit) await rememberStatus(permit);
      return { receipt, permit };
    } catch (err) {
      // two concurrent requests with one key: the loser reads the winner's receipt
      if (isUniqueViolation(err, 'permits_idempotency_uq')) {
        const prior = await findPriorSubmission(database.db, p, v.key, v.hash);
        if (prior) return { receipt: prior, permit: await getPermitById(database.db, p, prior.id) };
      }
      if (isDatabaseUnavailable(err)) return { receipt: queue(work, 'submitPermit', p, v.key, { ...v.input }), permit: null };
      throw err;
    }
  }

  async function schedule(work: AuditedWork, p: Principal, permitNumber: string, rawInput: unknown, rawKey: unknown) {
    const v = validateScheduling(rawInput, rawKey);
    const queued = () => {
      const r = queue(work, 'scheduleInspection', p, v.key, { ...v.input, permitNumber });
      return {
        id: r.id,
        inspectionType: v.input.inspectionType,
        windowStart: v.input.windowStart,
        windowEnd: v.input.windowEnd,
        result: 'PENDING',
        notes: null,
        recordedAt: null,
        queued: true,
      };
    };
    if (down()) return queued();
    try {
      return await breaker.execute(() =>
        work.transaction(
          (tx) => scheduleInspection(tx, p, permitNumber, v),
          (i) => [permitNumber, `inspection:${i.id}`],
        ),
      );
    } catch (err) {
      if (isUniqueViolation(err, 'inspections_idempotency_uq')) {
        return breaker.execute(() => database.db.transaction((tx) => scheduleInspection(tx, p, permitNumber, v)));
      }
      if (isDatabaseUnavailable(err)) return queued();
      throw err;
    }
  }

  async function submissionReceipt(p: Principal, id: string): Promise<SubmissionReceipt | null> {
    const queued = /^[0-9a-f-]{36}$/i.test(id) ? outbox.get(id) : undefined;
    if (queued && queued.payload.principal.clientId === p.clientId) {
      return {
        id,
        state: queued.state,
        permitNumber: queued.state === 'PERSISTED' ? (queued.resultId ?? null) : null,
        reason: queued.reason ?? null,
      };
    }
    const permit = await getPermitById(database.db, p, id);
    if (!permit || permit.submittedBy !== p.clientId) return null;
    return { id: permit.id, state: 'PERSISTED', permitNumber: permit.permitNum };
  }

  return {
    permitStatus,
    rememberStatus,
    submitPermit: submit,
    scheduleInspection: schedule,
    submissionReceipt,
    isDown: down,
    changeCounters,
  };
}

export type AppServices = ReturnType<typeof createServices> & {
  statusCache: StatusCache;
  revocations: Revocations;
  breaker: DbBreaker;
  outbox: Outbox;
  /** Webhooks, subscriptions and their delivery (src/events/). */
  events: EventServices;
};
