/**
 * One subscriber's stream of change events: only the events its principal may read (a jurisdiction never hears
 * another's, a contractor client only its own permits', as in src/domain/visibility.ts), ended when its token
 * expires or its client is revoked, and counted against a per-client cap on open streams.
 */
import { GraphQLError } from 'graphql';
import { ownPermitsOnly, type Principal } from '../domain/principal.ts';
import type { EventHub } from './event-hub.ts';
import type { ChangeEvent } from './event-types.ts';

/** Whether `p` may hear `event` under the read policy. */
export function mayHear(p: Principal, event: ChangeEvent): boolean {
  if (event.jurisdiction !== p.jurisdiction) return false;
  if (event.clientId !== undefined) return event.clientId === p.clientId;
  if (ownPermitsOnly(p)) return Boolean(p.contractor) && event.contractor === p.contractor;
  return true;
}

export interface StreamLimits {
  /** Open streams per client on this instance. */
  perClient: number;
  isRevoked: (clientId: string) => boolean;
  /** How often revocation is checked. @default 5000 */
  revocationCheckMs?: number;
}

/** Open streams per client id, on this instance. */
export function createStreamRegistry(hub: EventHub, limits: StreamLimits) {
  const open = new Map<string, number>();

  /**
   * An async iterator of the events `p` may hear that `accept` selects, until `expiresAt` (the token's `exp`), a
   * revocation, or the client's disconnect (Yoga calls `return`).
   */
  function stream(p: Principal, expiresAt: Date, accept: (e: ChangeEvent) => boolean): AsyncIterableIterator<ChangeEvent> {
    const count = open.get(p.clientId) ?? 0;
    if (count >= limits.perClient) {
      throw new GraphQLError(`at most ${limits.perClient} open subscriptions per client`, { extensions: { code: 'RATE_LIMITED' } });
    }
    open.set(p.clientId, count + 1);
    const queue: ChangeEvent[] = [];
    let wake: (() => void) | null = null;
    let done = false;
    // the change feed is read every few milliseconds: what it hands over until it caught up committed before
    // this subscription, and is not news to it
    let armed = false;
    void hub
      .caughtUp()
      .catch(() => {})
      .then(() => {
        armed = true;
      });
    const off = hub.on((e) => {
      if (done || !armed || !mayHear(p, e) || !accept(e)) return;
      // a reader that does not keep up loses the oldest events rather than growing memory without bound
      if (queue.length >= 100) queue.shift();
      queue.push(e);
      wake?.();
    });
    const finish = () => {
      if (done) return;
      done = true;
      off();
      clearTimeout(expiry);
      clearInterval(revocation);
      const n = (open.get(p.clientId) ?? 1) - 1;
      if (n > 0) open.set(p.clientId, n);
      else open.delete(p.clientId);
      wake?.();
    };
    const expiry = setTimeout(finish, Math.max(0, expiresAt.getTime() - Date.now()));
    const revocation = setInterval(() => limits.isRevoked(p.clientId) && finish(), limits.revocationCheckMs ?? 5000);

    const iterator: AsyncIterableIterator<ChangeEvent> = {
      async next() {
        while (!done && !queue.length) await new Promise<void>((r) => (wake = r));
        wake = null;
        const value = done ? undefined : queue.shift();
        return value ? { value, done: false } : { value: undefined, done: true };
      },
      async return() {
        finish();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  return { stream, openStreams: (clientId: string) => open.get(clientId) ?? 0, total: () => [...open.values()].reduce((a, b) => a + b, 0) };
}
export type StreamRegistry = ReturnType<typeof createStreamRegistry>;
