/**
 * The public status memo's renewal (src/db/public-status-memo.ts): an answer asked for in the second half of its
 * life is given from memory at once while one read renews it in the background, so that answers remembered together
 * do not all expire together and make every poll wait for the database; past `maxAgeMs` a poll still waits for its
 * own read, and a renewal that fails changes nothing.
 */
import { expect, test } from 'bun:test';
import { createPublicStatusMemo, type PublicStatusRow } from '../../src/db/public-status-memo.ts';

const marks = { mark: () => 'm1', heard: () => 0 };
const row = (status: string): PublicStatusRow => ({ number: 'DC-1', status, updatedAt: new Date(0), jurisdiction: 'demo-city' });

/** A read the test settles by hand, counting how often it was asked. */
function controlledReads() {
  const pending: { resolve: (r: PublicStatusRow | null) => void; reject: (e: Error) => void }[] = [];
  return {
    pending,
    read: () => new Promise<PublicStatusRow | null>((resolve, reject) => pending.push({ resolve, reject })),
  };
}

test('an answer past refreshAfterMs is given at once while one background read renews it', async () => {
  const memo = createPublicStatusMemo(marks, { maxAgeMs: 2_000, refreshAfterMs: 50 });
  const reads = controlledReads();
  const first = memo.get('DC-1', reads.read);
  reads.pending[0]!.resolve(row('SUBMITTED'));
  expect((await first)?.status).toBe('SUBMITTED');

  expect((await memo.get('DC-1', reads.read))?.status).toBe('SUBMITTED');
  expect(reads.pending).toHaveLength(1); // young: no read at all
  await Bun.sleep(80);
  // old enough to renew: answered from memory without waiting for the read it starts, and only one read at a time
  expect((await memo.get('DC-1', reads.read))?.status).toBe('SUBMITTED');
  expect((await memo.get('DC-1', reads.read))?.status).toBe('SUBMITTED');
  expect(reads.pending).toHaveLength(2);
  reads.pending[1]!.resolve(row('UNDER_REVIEW'));
  await Bun.sleep(0);
  expect((await memo.get('DC-1', reads.read))?.status).toBe('UNDER_REVIEW');
  expect(reads.pending).toHaveLength(2);
});

test('past maxAgeMs a poll waits for its own read; a failed renewal leaves the answer until then', async () => {
  const memo = createPublicStatusMemo(marks, { maxAgeMs: 150, refreshAfterMs: 50 });
  const reads = controlledReads();
  const first = memo.get('DC-1', reads.read);
  reads.pending[0]!.resolve(row('SUBMITTED'));
  await first;
  await Bun.sleep(80);
  expect((await memo.get('DC-1', reads.read))?.status).toBe('SUBMITTED');
  reads.pending[1]!.reject(new Error('database unavailable'));
  await Bun.sleep(0);
  expect((await memo.get('DC-1', reads.read))?.status).toBe('SUBMITTED'); // renews again, answer unchanged
  expect(reads.pending).toHaveLength(3);
  await Bun.sleep(100);
  let settled = false;
  const late = memo.get('DC-1', reads.read).then((r) => ((settled = true), r));
  await Bun.sleep(10);
  expect(settled).toBe(false); // expired: this poll waits for the database
  reads.pending.at(-1)!.resolve(row('APPROVED'));
  expect((await late)?.status).toBe('APPROVED');
});
