/**
 * The in-memory change counters behind OGC 304s (src/db/change-counters.ts): kept while the LISTEN
 * subscription vouches for them, dropped on a notification or a reconnect, and never kept from a read that a
 * notification overtook (that read may predate the commit it announces).
 */
import { expect, test } from 'bun:test';
import pino from 'pino';
import { createChangeCounters } from '../../src/db/change-counters.ts';

function harness(maxAgeMs?: number) {
  let value = 1;
  let reads = 0;
  let gate: Promise<void> | null = null;
  let notify: (payload: string) => void = () => {};
  let reconnect: () => void = () => {};
  const counters = createChangeCounters({
    read: async () => {
      reads++;
      const v = value;
      if (gate) await gate;
      return v;
    },
    listen: async (_channel, onMessage, onReconnect) => {
      notify = onMessage;
      reconnect = onReconnect ?? (() => {});
      return async () => {};
    },
    log: pino({ level: 'silent' }),
    ...(maxAgeMs === undefined ? {} : { maxAgeMs }),
  });
  return {
    counters,
    set: (v: number) => (value = v),
    reads: () => reads,
    notify: (j: string) => notify(j),
    reconnect: () => reconnect(),
    hold: () => {
      let open = () => {};
      gate = new Promise((r) => (open = r));
      return () => {
        gate = null;
        open();
      };
    },
  };
}

test('a counter is read once, then answered from memory until its jurisdiction is notified', async () => {
  const h = harness();
  await h.counters.ready();
  expect(await h.counters.get('demo-city')).toBe(1);
  expect(await h.counters.get('demo-city')).toBe(1);
  expect(h.reads()).toBe(1);
  h.set(2);
  h.notify('other-town');
  expect(await h.counters.get('demo-city')).toBe(1);
  h.notify('demo-city');
  expect(await h.counters.get('demo-city')).toBe(2);
  expect(h.reads()).toBe(2);
});

test('a read overtaken by a notification answers but is not kept', async () => {
  const h = harness();
  await h.counters.ready();
  const release = h.hold();
  const pending = h.counters.get('demo-city'); // reads 1, then waits
  h.set(2);
  h.notify('demo-city'); // the commit it may have missed
  release();
  expect(await pending).toBe(1);
  expect(await h.counters.get('demo-city')).toBe(2);
  expect(h.reads()).toBe(2);
});

test('a reconnect forgets everything (notifications may have been lost meanwhile)', async () => {
  const h = harness();
  await h.counters.ready();
  await h.counters.get('demo-city');
  h.set(5);
  h.reconnect();
  expect(await h.counters.get('demo-city')).toBe(5);
});

test('a cached counter is trusted for maxAgeMs at most', async () => {
  const h = harness(20);
  await h.counters.ready();
  await h.counters.get('demo-city');
  h.set(3);
  await Bun.sleep(30);
  expect(await h.counters.get('demo-city')).toBe(3);
});

test('without LISTEN every call reads', async () => {
  let reads = 0;
  const counters = createChangeCounters({ read: async () => ++reads, log: pino({ level: 'silent' }) });
  await counters.ready();
  await counters.get('j');
  await counters.get('j');
  expect(reads).toBe(2);
});
