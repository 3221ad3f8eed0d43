/**
 * Fan-out of committed change events to this instance's subscribers. The database trigger that records a change
 * also writes it to the change feed's `permit_events` channel (migration change_feed_triggers), which every
 * instance reads only once its transaction committed (src/db/change-feed.ts): the fan-out across instances needs
 * no second system (Redis pub/sub would add a publish step after COMMIT that a crash can skip). One subscription
 * per instance, opened when the first stream starts; each event goes to every subscriber whose filter (its read
 * policy) accepts it.
 */
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { ChangeEvent } from './event-types.ts';

export const EVENTS_CHANNEL = 'permit_events';

type Listener = (event: ChangeEvent) => void;

export interface EventHubOptions {
  database: Database;
  log: Logger;
  /** Told of every event (the webhook dispatcher wakes on it). */
  onEvent?: (event: ChangeEvent) => void;
}

export function createEventHub(opts: EventHubOptions) {
  const listeners = new Set<Listener>();
  let unlisten: Promise<() => Promise<void>> | null = null;

  function dispatch(payload: string) {
    let event: ChangeEvent;
    try {
      event = JSON.parse(payload) as ChangeEvent;
    } catch {
      return;
    }
    opts.onEvent?.(event);
    for (const l of listeners) {
      try {
        l(event);
      } catch (err) {
        opts.log.warn({ err: (err as Error).message }, 'event subscriber failed');
      }
    }
  }

  /** Starts listening (idempotent); a failure is logged and retried at the next call. */
  function start(): Promise<void> {
    unlisten ??= opts.database.listen(EVENTS_CHANNEL, dispatch).catch((err) => {
      opts.log.warn({ err: (err as Error).message }, 'change feed: permit_events failed');
      unlisten = null;
      return async () => {};
    });
    return unlisten.then(() => {});
  }

  return {
    start,
    /** Resolves once the events committed before the call were dispatched (a new subscriber hears only later ones). */
    caughtUp: () => start().then(() => opts.database.catchUp()),
    /** Adds a listener; returns its removal. */
    on(listener: Listener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    listenerCount: () => listeners.size,
    async stop() {
      listeners.clear();
      const u = unlisten;
      unlisten = null;
      if (u) await (await u)().catch(() => {});
    },
  };
}
export type EventHub = ReturnType<typeof createEventHub>;
