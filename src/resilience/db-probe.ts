/**
 * A tiny `select 1` through the breaker every `intervalMs`: it detects an outage before requests pay for it
 * and is the half-open probe that closes the breaker again when nothing else is calling the database.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import type { DbBreaker } from './breaker.ts';

export function startDbProbe(db: Db, breaker: DbBreaker, { intervalMs = 1000 } = {}) {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || breaker.retryAfterMs() > 0 || breaker.state === 'half-open') return; // not due: refused anyway
    busy = true;
    try {
      await breaker.probe(() => db.execute(sql`select 1`));
    } catch {
      // counted by the breaker
    } finally {
      busy = false;
    }
  }, intervalMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
