/**
 * The transparency commands the way an operator and an outsider run them: `audit checkpoint --note`,
 * `audit consistency OLD NEW` (0 when NEW extends OLD; 1 naming rollback, split view, fork), `audit proof --seq N`
 * and `audit verify-proof FILE` with only the verifier key (mutated proofs refused), `audit log-key`.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendAuditEntries } from '../../../src/audit/append.ts';
import { signCheckpointNote } from '../../../src/audit/transparency/checkpoint-note.ts';
import { parsePrivateKey } from '../../../src/audit/transparency/signed-note.ts';
import { asSuperuserWithoutTriggers } from '../support.ts';
import { CLI_HOOK_TIMEOUT, CLI_TEST_TIMEOUT, createCliDatabase, runCli, type CliDatabase } from '../../cli/support.ts';

let cdb: CliDatabase;
beforeAll(async () => {
  cdb = await createCliDatabase({ seed: false });
}, CLI_HOOK_TIMEOUT);
afterAll(async () => {
  await cdb?.drop();
}, CLI_HOOK_TIMEOUT);

const cli = (...args: string[]) => runCli(args, cdb.env);
const file = (name: string, text: string) => {
  const path = join(cdb.dataDir, name);
  writeFileSync(path, text);
  return path;
};

async function append(n: number, tag: string) {
  const database = await cdb.open();
  try {
    await appendAuditEntries(
      database.db,
      Array.from({ length: n }, (_, i) => ({ operation: `${tag}-${i}`, client: 'cli-test', outcome: 'allowed' })),
    );
  } finally {
    await database.close();
  }
}

async function checkpointNote(): Promise<string> {
  const r = await cli('audit', 'checkpoint', '--note');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

let oldNote = '';
let newNote = '';
let verifierKey = '';

describe('audit consistency OLD NEW', () => {
  test(
    'exits 0 when NEW extends OLD, and refuses the files swapped (rollback)',
    async () => {
      expect((await cli('keys', 'rotate')).code).toBe(0);
      await append(5, 'first');
      oldNote = await checkpointNote();
      await append(6, 'second');
      newNote = await checkpointNote();
      expect(newNote.split('\n')[1]).toBe('11');
      const ok = await cli('audit', 'consistency', file('old.cp', oldNote), file('new.cp', newNote), '--json');
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, fromSize: 5, toSize: 11 });
      const swapped = await cli('audit', 'consistency', file('new.cp', newNote), file('old.cp', oldNote));
      expect(swapped.code).toBe(1);
      expect(swapped.stderr).toContain('rollback');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'another tree of the same size signed by the log is a split view; a note not signed by it is refused',
    async () => {
      const keyFile = readFileSync(
        join(cdb.dataDir, 'audit-log-keys', (await import('node:fs')).readdirSync(join(cdb.dataDir, 'audit-log-keys'))[0]!),
        'utf8',
      );
      const signer = parsePrivateKey(keyFile);
      const [origin, size] = oldNote.split('\n');
      const other = signCheckpointNote({ origin: origin!, size: Number(size), rootHash: 'd'.repeat(64) }, [signer]);
      const split = await cli('audit', 'consistency', file('old.cp', oldNote), file('other.cp', other));
      expect(split.code).toBe(1);
      expect(split.stderr).toContain('split view');
      // the log's key id kept, one signature byte changed
      const forged = oldNote.replace(/\n\u2014 (\S+) (\S+)\n$/, (_m, name: string, b64: string) => {
        const sig = Buffer.from(b64, 'base64');
        sig[10] = (sig[10] ?? 0) ^ 1;
        return `\n\u2014 ${name} ${sig.toString('base64')}\n`;
      });
      const bad = await cli('audit', 'consistency', file('forged.cp', forged), file('new.cp', newNote));
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('does not verify');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'a rewritten entry before OLD is a fork: the log cannot prove NEW extends OLD',
    async () => {
      const database = await cdb.open();
      try {
        await asSuperuserWithoutTriggers(database.db, async (tx) => {
          await tx.execute(sql`update audit_entries set hash = ${'e'.repeat(64)} where seq = 2`);
        });
      } finally {
        await database.close();
      }
      const r = await cli('audit', 'consistency', file('old.cp', oldNote), file('new.cp', newNote));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('fork');
      // put it back for the proofs below
      const again = await cdb.open();
      try {
        await asSuperuserWithoutTriggers(again.db, async (tx) => {
          await tx.execute(sql`update audit_entries set hash = (select prev_hash from audit_entries where seq = 3) where seq = 2`);
        });
      } finally {
        await again.close();
      }
      expect((await cli('audit', 'consistency', file('old.cp', oldNote), file('new.cp', newNote))).code).toBe(0);
    },
    CLI_TEST_TIMEOUT,
  );
});

describe('audit proof and verify-proof', () => {
  test(
    'a proof written by the operator verifies offline with the verifier key alone; altered ones do not',
    async () => {
      const logKey = await cli('audit', 'log-key', 'rotate', '--json');
      expect(logKey.code).toBe(0);
      // rotation: the next checkpoint is signed by the new key, the old note still opens with the old key
      verifierKey = JSON.parse(logKey.stdout).verifierKey;
      await append(1, 'third');
      const note = await checkpointNote();
      expect(note).toContain(`\u2014 ${verifierKey.split('+')[0]} `);
      expect(note).not.toContain(oldNote.split('\n\n')[1]!.split(' ')[2]!.slice(0, 6));
      expect((await cli('audit', 'consistency', file('old.cp', oldNote), file('rotated.cp', note))).code).toBe(0);
      const proofFile = join(cdb.dataDir, 'seq7.tlog-proof');
      const p = await cli('audit', 'proof', '--seq', '7', '--out', proofFile);
      expect(p.code).toBe(0);
      const text = readFileSync(proofFile, 'utf8');
      expect(text.startsWith('c2sp.org/tlog-proof@v1\nextra ')).toBe(true);
      expect(text).toContain('\nindex 6\n');
      const ok = await runCli(['audit', 'verify-proof', proofFile, '--log-key', verifierKey, '--json'], {});
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, seq: 7, treeSize: 12, entry: { operation: 'second-1' } });

      const extra = /\nextra (\S+)\n/.exec(text)![1]!;
      const entry = JSON.parse(Buffer.from(extra, 'base64').toString());
      const altered = { ...entry, entry: { ...entry.entry, outcome: 'denied' } };
      const mutations: Record<string, string> = {
        'entry edited': text.replace(extra, Buffer.from(JSON.stringify(altered)).toString('base64')),
        'index moved': text.replace('\nindex 6\n', '\nindex 5\n'),
        'path hash flipped': text.replace(/\nindex 6\n(.)/, (_m, c: string) => `\nindex 6\n${c === 'A' ? 'B' : 'A'}`),
        'path truncated': text.replace(/\nindex 6\n[^\n]+\n/, '\nindex 6\n'),
        'root swapped': text.replace(/\n12\n[^\n]+\n/, `\n12\n${Buffer.alloc(32, 1).toString('base64')}\n`),
      };
      for (const [what, bad] of Object.entries(mutations)) {
        const r = await runCli(['audit', 'verify-proof', file('bad.tlog-proof', bad), '--log-key', verifierKey], {});
        expect({ what, code: r.code }).toEqual({ what, code: 1 });
        expect(r.stderr).toContain('proof refused');
      }
      const wrongKey = await runCli(['audit', 'verify-proof', proofFile, '--log-key', `someone.else+00000000+AQ${'A'.repeat(42)}=`], {});
      expect(wrongKey.code).not.toBe(0);
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'audit log-key generate prints a key Go and AUDIT_LOG_KEY accept',
    async () => {
      const r = await cli('audit', 'log-key', 'generate', '--name', 'permits.example.gov/audit', '--json');
      expect(r.code).toBe(0);
      const { privateKey, verifierKey: vkey } = JSON.parse(r.stdout);
      expect(privateKey).toMatch(/^PRIVATE\+KEY\+permits\.example\.gov\/audit\+[0-9a-f]{8}\+/);
      expect(vkey).toMatch(/^permits\.example\.gov\/audit\+[0-9a-f]{8}\+/);
      expect(parsePrivateKey(privateKey).keyId.toString(16).padStart(8, '0')).toBe(vkey.split('+')[1]);
    },
    CLI_TEST_TIMEOUT,
  );
});
