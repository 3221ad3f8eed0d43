import { afterAll, describe, expect, test } from 'bun:test';
import { Database } from 'bun:sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { OutboxConflictError, OutboxStateError, openOutbox, type EnqueueRequest } from '../../src/resilience/outbox.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

const root = mkdtempSync(join(tmpdir(), 'outbox-test-'));
let n = 0;
const freshDir = () => join(root, `case-${++n}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const principal = { clientId: 'contractor-a', jurisdiction: 'demo-city', contractor: 'LIC-1' };
const submit = (key: string, description = 'Deck'): EnqueueRequest => ({
  kind: 'submitPermit',
  idempotencyKey: key,
  principal,
  input: { parcelId: 'parcel-1', permitType: 'BUILDING', description, valuation: 1000 },
});

describe('outbox', () => {
  test('the outbox file outbox.sqlite is in WAL mode', () => {
    const outbox = openOutbox({ dir: freshDir() });
    try {
      expect(outbox.path.endsWith('outbox.sqlite')).toBe(true);
      const peek = new Database(outbox.path, { readonly: true });
      expect(peek.query<{ journal_mode: string }, []>('PRAGMA journal_mode').get()?.journal_mode).toBe('wal');
      peek.close();
    } finally {
      outbox.close();
    }
  });

  test('pending items come back in enqueue order with their payload and principal', () => {
    const outbox = openOutbox({ dir: freshDir() });
    try {
      const receipts = ['k1', 'k2', 'k3'].map((k) => outbox.enqueue(submit(k)));
      outbox.enqueue({
        kind: 'scheduleInspection',
        idempotencyKey: 'k4',
        principal,
        input: { permitNumber: 'BP-1', inspectionType: 'FRAMING' },
      });
      expect(receipts.every((r) => r.state === 'QUEUED' && !r.duplicate)).toBe(true);
      expect(receipts[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
      const pending = outbox.pending();
      expect(pending.map((i) => i.idempotencyKey)).toEqual(['k1', 'k2', 'k3', 'k4']);
      expect(pending[0]!.payload.principal).toEqual(principal);
      expect(pending[0]!.payload.input).toMatchObject({ description: 'Deck' });
      expect(pending[3]!.kind).toBe('scheduleInspection');
      expect(outbox.pending(2).map((i) => i.idempotencyKey)).toEqual(['k1', 'k2']);
      expect(outbox.depth()).toBe(4);
    } finally {
      outbox.close();
    }
  });

  test('an item goes from QUEUED to PERSISTED with its permit number, or to REJECTED with a reason', () => {
    const outbox = openOutbox({ dir: freshDir() });
    try {
      const a = outbox.enqueue(submit('a'));
      const b = outbox.enqueue(submit('b'));
      const c = outbox.enqueue(submit('c'));
      const persisted = outbox.markPersisted(a.id, 'BP-2025-0001');
      expect(persisted).toMatchObject({ state: 'PERSISTED', resultId: 'BP-2025-0001', reason: null });
      const rejected = outbox.markRejected(b.id, 'idempotency key reused with a different input');
      expect(rejected).toMatchObject({ state: 'REJECTED', reason: 'idempotency key reused with a different input' });
      expect(outbox.get(a.id)?.state).toBe('PERSISTED');
      expect(outbox.pending().map((i) => i.id)).toEqual([c.id]);
      expect(outbox.depth()).toBe(1);
      expect(outbox.get('no-such-id')).toBeUndefined();
    } finally {
      outbox.close();
    }
  });

  test('repeating a transition is harmless but changing a final state is refused', () => {
    const outbox = openOutbox({ dir: freshDir() });
    try {
      const a = outbox.enqueue(submit('a'));
      outbox.markPersisted(a.id, 'BP-1');
      expect(outbox.markPersisted(a.id, 'BP-1').state).toBe('PERSISTED');
      expect(() => outbox.markPersisted(a.id, 'BP-2')).toThrow(OutboxStateError);
      expect(() => outbox.markRejected(a.id, 'late')).toThrow('already PERSISTED (BP-1); cannot mark it REJECTED');
      expect(() => outbox.markRejected('missing', 'x')).toThrow('no item with receipt id missing');
    } finally {
      outbox.close();
    }
  });

  test('a failed attempt is counted and the item stays queued', () => {
    const outbox = openOutbox({ dir: freshDir() });
    try {
      const a = outbox.enqueue(submit('a'));
      outbox.noteAttempt(a.id, 'ECONNREFUSED');
      outbox.noteAttempt(a.id, 'ECONNREFUSED');
      expect(outbox.get(a.id)).toMatchObject({ state: 'QUEUED', attempts: 2, lastError: 'ECONNREFUSED' });
    } finally {
      outbox.close();
    }
  });

  test('enqueueing the same request twice gives the same receipt; the same key with other input is refused', () => {
    const outbox = openOutbox({ dir: freshDir() });
    try {
      const first = outbox.enqueue(submit('same'));
      const again = outbox.enqueue(submit('same'));
      expect(again.id).toBe(first.id);
      expect(again.duplicate).toBe(true);
      expect(() => outbox.enqueue(submit('same', 'Garage'))).toThrow(OutboxConflictError);
      // Another client may use the same key.
      const other = outbox.enqueue({ ...submit('same'), principal: { ...principal, clientId: 'contractor-b' } });
      expect(other.id).not.toBe(first.id);
      expect(outbox.depth()).toBe(2);
    } finally {
      outbox.close();
    }
  });

  test('invalid requests are refused with a message naming the field', () => {
    const outbox = openOutbox({ dir: freshDir() });
    try {
      expect(() => outbox.enqueue({ ...submit('x'), idempotencyKey: '' })).toThrow('idempotencyKey must be a non-empty string');
      expect(() => outbox.enqueue({ ...submit('x'), kind: 'amendPermit' as never })).toThrow('kind must be one of');
      expect(() => outbox.pending(0)).toThrow('positive integer');
    } finally {
      outbox.close();
    }
  });

  test('items survive reopening the file', () => {
    const dir = freshDir();
    const first = openOutbox({ dir });
    const r = first.enqueue(submit('persisted-across-open'));
    first.close();
    const second = openOutbox({ dir });
    try {
      expect(second.get(r.id)?.state).toBe('QUEUED');
      expect(second.depth()).toBe(1);
    } finally {
      second.close();
    }
  });

  test('an acknowledged item survives SIGKILL of the process right after enqueue returns', async () => {
    const dir = freshDir();
    const modulePath = resolve(import.meta.dir, '../../src/resilience/outbox.ts');
    const script = `
      const { openOutbox } = await import(${JSON.stringify(modulePath)});
      const outbox = openOutbox({ dir: ${JSON.stringify(dir)} });
      for (let i = 0; i < 5; i++) {
        const r = outbox.enqueue({ kind: 'submitPermit', idempotencyKey: 'crash-' + i,
          principal: { clientId: 'c', jurisdiction: 'demo-city' }, input: { i } });
        process.stdout.write(r.id + '\\n');
      }
      process.stdout.write('DONE\\n');
      setInterval(() => {}, 1000);
    `;
    const child = Bun.spawn([process.execPath, '-e', script], { stdout: 'pipe', stderr: 'pipe' });
    const ids: string[] = [];
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of child.stdout) {
      buffer += decoder.decode(chunk);
      if (buffer.includes('DONE\n')) break;
    }
    child.kill('SIGKILL');
    const code = await child.exited;
    expect(child.signalCode).toBe('SIGKILL');
    expect(code).not.toBe(0);
    ids.push(...buffer.split('\n').filter((l) => l && l !== 'DONE'));
    expect(ids).toHaveLength(5);

    const outbox = openOutbox({ dir });
    try {
      expect(outbox.pending().map((i) => i.id)).toEqual(ids);
      expect(outbox.get(ids[4]!)?.payload.input).toEqual({ i: 4 });
    } finally {
      outbox.close();
    }
  });
});
