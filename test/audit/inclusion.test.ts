import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { JWK } from 'jose';
import { appendAuditEntries } from '../../src/audit/append.ts';
import { verifyCheckpoint } from '../../src/audit/checkpoint.ts';
import { entryHash } from '../../src/audit/hash-chain.ts';
import { loadInclusionProof } from '../../src/audit/inclusion.ts';
import { verifyInclusion } from '../../src/audit/merkle.ts';
import { takeCheckpoint } from '../../src/audit/take-checkpoint.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { auditKeys, DB_TIMEOUT } from './support.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

let t: TestDatabase;
let jws: string;
let publicJwk: JWK;
let appended: Awaited<ReturnType<typeof appendAuditEntries>>;
beforeAll(async () => {
  t = await createTestDatabase();
  const keys = await auditKeys();
  publicJwk = keys.publicJwk;
  appended = await appendAuditEntries(
    t.database.db,
    Array.from({ length: 57 }, (_, i) => ({ op: 'read', i })),
  );
  jws = (await takeCheckpoint(t.database.db, keys.signer)).jws;
  await appendAuditEntries(t.database.db, [{ op: 'after the checkpoint' }]);
}, DB_TIMEOUT);
afterAll(() => t.drop(), DB_TIMEOUT);

test(
  'an inclusion proof for every entry verifies against the signed checkpoint',
  async () => {
    const checkpoint = await verifyCheckpoint(jws, publicJwk);
    expect(checkpoint.size).toBe(57);
    for (let seq = 1; seq <= 57; seq++) {
      const p = await loadInclusionProof(t.database.db, seq, checkpoint.size, 10);
      expect(p).not.toBeNull();
      expect(
        verifyInclusion({
          entryHash: p?.entryHash,
          index: seq - 1,
          treeSize: checkpoint.size,
          proof: p?.proof ?? [],
          rootHash: checkpoint.rootHash,
        }),
      ).toBe(true);
    }
  },
  DB_TIMEOUT,
);

test(
  'a proof presented for a modified entry fails',
  async () => {
    const checkpoint = await verifyCheckpoint(jws, publicJwk);
    const seq = 23;
    const p = await loadInclusionProof(t.database.db, seq, checkpoint.size);
    const original = appended[seq - 1];
    const forgedHash = entryHash(original?.prevHash as string, { ...original?.entry, op: 'write' });
    expect(
      verifyInclusion({
        entryHash: forgedHash,
        index: seq - 1,
        treeSize: checkpoint.size,
        proof: p?.proof ?? [],
        rootHash: checkpoint.rootHash,
      }),
    ).toBe(false);
  },
  DB_TIMEOUT,
);

test(
  'no proof is given for a seq outside the checkpoint or a size the log does not reach',
  async () => {
    expect(await loadInclusionProof(t.database.db, 58, 57)).toBeNull();
    expect(await loadInclusionProof(t.database.db, 0, 57)).toBeNull();
    expect(await loadInclusionProof(t.database.db, 1, 500)).toBeNull();
  },
  DB_TIMEOUT,
);
