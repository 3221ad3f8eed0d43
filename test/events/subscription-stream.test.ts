/** Issue 22: a subscriber's stream ends when its token expires or its client is revoked; the policy filter. */
import { describe, expect, test } from 'bun:test';
import type { Principal } from '../../src/domain/principal.ts';
import type { EventHub } from '../../src/events/event-hub.ts';
import type { ChangeEvent } from '../../src/events/event-types.ts';
import { createStreamRegistry, mayHear } from '../../src/events/subscription-stream.ts';

/** A hub without a database: `emit` plays a committed NOTIFY. */
function fakeHub() {
  const listeners = new Set<(e: ChangeEvent) => void>();
  const hub = {
    start: async () => {},
    // nothing committed before: caught up at once (a new stream hears events from the next tick on)
    caughtUp: async () => {},
    on: (l: (e: ChangeEvent) => void) => (listeners.add(l), () => listeners.delete(l)),
    listenerCount: () => listeners.size,
    stop: async () => {},
  } as unknown as EventHub;
  return {
    hub,
    emit: (e: ChangeEvent) => {
      for (const l of listeners) l(e);
    },
    count: () => listeners.size,
  };
}

const contractor: Principal = {
  clientId: 'c1',
  role: 'contractor',
  scopes: new Set(['permits:read:own']),
  jurisdiction: 'j1',
  contractor: 'L1',
};
const clerk: Principal = { clientId: 'k1', role: 'clerk', scopes: new Set(['permits:read']), jurisdiction: 'j1' };
const event = (over: Partial<ChangeEvent> = {}): ChangeEvent => ({
  type: 'permit.status_changed',
  jurisdiction: 'j1',
  contractor: 'L1',
  data: { permitNumber: 'P-1', status: 'APPROVED' },
  ...over,
});

describe('mayHear', () => {
  test("a contractor its own permits only; a jurisdiction never another's; a receipt only its submitter", () => {
    expect(mayHear(contractor, event())).toBe(true);
    expect(mayHear(contractor, event({ contractor: 'L2' }))).toBe(false);
    expect(mayHear(contractor, event({ contractor: null }))).toBe(false);
    expect(mayHear(clerk, event({ contractor: 'L2' }))).toBe(true);
    expect(mayHear(clerk, event({ jurisdiction: 'j2' }))).toBe(false);
    expect(mayHear(contractor, event({ jurisdiction: 'j2' }))).toBe(false);
    expect(mayHear(contractor, event({ type: 'receipt.persisted', clientId: 'c1' }))).toBe(true);
    expect(mayHear(clerk, event({ type: 'receipt.persisted', clientId: 'c1' }))).toBe(false);
  });
});

describe('stream lifetime', () => {
  test("the token's expiry ends the stream and frees its place", async () => {
    const { hub, emit, count } = fakeHub();
    const reg = createStreamRegistry(hub, { perClient: 1, isRevoked: () => false });
    const s = reg.stream(contractor, new Date(Date.now() + 200), () => true);
    await Bun.sleep(0); // the stream hears what commits once it caught up
    emit(event());
    expect((await s.next()).value?.data.permitNumber).toBe('P-1');
    expect(() => reg.stream(contractor, new Date(Date.now() + 10_000), () => true)).toThrow(/at most 1/);
    expect((await s.next()).done).toBe(true);
    expect(reg.openStreams('c1')).toBe(0);
    expect(count()).toBe(0);
  });

  test('revoking the client ends its streams', async () => {
    const { hub } = fakeHub();
    let revoked = false;
    const reg = createStreamRegistry(hub, { perClient: 5, isRevoked: () => revoked, revocationCheckMs: 50 });
    const s = reg.stream(clerk, new Date(Date.now() + 60_000), () => true);
    const next = s.next();
    revoked = true;
    expect((await next).done).toBe(true);
    expect(reg.total()).toBe(0);
  });

  test('a reader that does not keep up keeps the newest 100 events, not all of them', async () => {
    const { hub, emit } = fakeHub();
    const reg = createStreamRegistry(hub, { perClient: 5, isRevoked: () => false });
    const s = reg.stream(clerk, new Date(Date.now() + 60_000), () => true);
    await Bun.sleep(0); // the stream hears what commits once it caught up
    for (let i = 0; i < 150; i++) emit(event({ data: { permitNumber: `P-${i}` } }));
    expect((await s.next()).value?.data.permitNumber).toBe('P-50');
    await s.return!();
  });
});
