/**
 * Witness cosignatures end to end: the server pushes each new checkpoint to the witnesses of AUDIT_WITNESSES
 * (C2SP tlog-witness add-checkpoint, with a consistency proof from the size each last cosigned) and publishes the
 * checkpoint with their cosignatures; offline proofs carry them. The witness service answers as the spec says
 * (404, 403, 400, 409 with its size, 422) and never cosigns a tree that does not extend its last one.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashLeaf, merkleTreeHash } from '../../../src/audit/merkle.ts';
import { openCheckpoint, signCheckpointNote } from '../../../src/audit/transparency/checkpoint-note.ts';
import { consistencyPath } from '../../../src/audit/transparency/consistency.ts';
import { cosignatureLine, verifiedCosignatures } from '../../../src/audit/transparency/cosignature.ts';
import { witnessId } from '../../../src/audit/transparency/cosignature-store.ts';
import { formatVerifierKey, generateNoteKey, parseVerifierKey, type NoteVerifier } from '../../../src/audit/transparency/signed-note.ts';
import { verifyEntryProof } from '../../../src/audit/transparency/tlog-proof.ts';
import { createTransparencyLog } from '../../../src/audit/transparency/transparency-log.ts';
import { createWitnessService } from '../../../src/audit/transparency/witness-server.ts';
import { witnessKey } from '../../../src/audit/transparency/witness.ts';
import { allSigningKeys } from '../../../src/auth/signing-keys.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { getText, growAndCheckpoint } from './support.ts';

setDefaultTimeout(120_000);

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'cosign-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the server collects and publishes witness cosignatures', () => {
  const stateDir = tempDir();
  const witness = witnessKey(stateDir, 'county-clerk.example/witness');
  let service: ReturnType<typeof createWitnessService> | null = null;
  // the witness listens first (the log's config names it); it learns the log's key once the log is up
  const witnessServer = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: (req) => service?.fetch(req) ?? new Response('starting', { status: 503 }),
  });
  const witnessUrl = `http://127.0.0.1:${witnessServer.port}`;
  let t: TestServer;
  let logKey: NoteVerifier;
  const checkpoint = async () => (await getText(`${t.url}/audit/checkpoint`)).body;

  beforeAll(async () => {
    t = await startTestServer({ AUDIT_WITNESSES: `${witnessUrl} ${formatVerifierKey(witness)}` });
    logKey = parseVerifierKey((await getText(`${t.url}/audit/verifier-key`)).body);
    service = createWitnessService({ stateDir, signer: witness, logKeys: [logKey] });
  });
  afterAll(async () => {
    await t.stop();
    witnessServer.stop(true);
  });

  test('GET /audit/checkpoint carries the witness cosignature once it was collected', async () => {
    await growAndCheckpoint(t, 2);
    await t.running.transparency.collectCosignatures();
    const note = await checkpoint();
    expect(verifiedCosignatures(note, [witness]).map((c) => c.witness.name)).toEqual(['county-clerk.example/witness']);
    expect(openCheckpoint(note, [logKey]).size).toBeGreaterThan(0);
  });

  test('the next checkpoint is cosigned after the witness checked its consistency proof', async () => {
    const before = openCheckpoint(await checkpoint(), [logKey]);
    await growAndCheckpoint(t, 3);
    await t.running.transparency.collectCosignatures();
    const note = await checkpoint();
    const after = openCheckpoint(note, [logKey]);
    expect(after.size).toBeGreaterThan(before.size);
    expect(verifiedCosignatures(note, [witness])).toHaveLength(1);
  });

  test('an offline proof carries the cosignature and meets a quorum of one', async () => {
    const proof = await t.running.transparency.entryProof(1);
    const r = verifyEntryProof(proof, { logKeys: [logKey], witnesses: [witness], quorum: 1 });
    expect(r.cosigners.map((c) => c.name)).toEqual(['county-clerk.example/witness']);
    const { signer: stranger } = generateNoteKey('county-clerk.example/witness', 0x04);
    expect(() => verifyEntryProof(proof, { logKeys: [logKey], witnesses: [stranger], quorum: 1 })).toThrow(
      '0 valid cosignature(s), 1 required',
    );
  });

  test('a restarted or other instance publishes the stored cosignatures without reaching the witness', async () => {
    await growAndCheckpoint(t, 2);
    await t.running.transparency.collectCosignatures();
    const db = t.tdb.database.db;
    const errors: string[] = [];
    // a fresh log object on the same database is what a restart or a second instance starts with; its witness
    // address answers nothing (port 9), so every cosignature it publishes came from the table
    const restarted = createTransparencyLog({
      db,
      keys: t.running.transparency.keys,
      origin: t.running.transparency.origin,
      checkpointKeys: async () => ({ keys: await allSigningKeys(db) }),
      witnesses: [{ url: 'http://127.0.0.1:9', key: witness }],
      onWitnessError: (_w, message) => errors.push(message),
    });
    const note = await restarted.checkpointNote();
    expect(verifiedCosignatures(note, [witness]).map((c) => c.witness.name)).toEqual(['county-clerk.example/witness']);
    expect(openCheckpoint(note, [logKey]).size).toBe((await t.running.transparency.latestHead()).size);
    expect(note).toBe(await checkpoint());
  });

  test('a line put in audit_cosignatures by hand that does not verify is not published', async () => {
    const { sql } = await import('drizzle-orm');
    const head = await t.running.transparency.latestHead();
    const note = await checkpoint();
    const body = note.slice(0, note.indexOf('\n\n') + 1);
    const { signer: impostor } = generateNoteKey('county-clerk.example/witness', 0x04);
    const forged = cosignatureLine(body, impostor, 1_700_000_000);
    await t.tdb.database.db.execute(sql`
      insert into audit_cosignatures (tree_size, root_hash, witness, line)
      values (${head.size}, ${head.rootHash}, ${witnessId(impostor)}, ${forged}),
             (${head.size}, ${head.rootHash}, ${'junk+00000000'}, ${'— junk AAAA\n'})`);
    const published = await checkpoint();
    expect(published).not.toContain(forged.trim());
    expect(published).not.toContain('junk');
    expect(verifiedCosignatures(published, [witness])).toHaveLength(1);
    // another instance cosigned the same tree later (its row replaced this one's): still one line per witness
    const later = cosignatureLine(body, witness, 1_800_000_000);
    await t.tdb.database.db.execute(sql`
      update audit_cosignatures set line = ${later}
      where tree_size = ${head.size} and root_hash = ${head.rootHash} and witness = ${witnessId(witness)}`);
    const once = await checkpoint();
    expect(once.split('\n').filter((l) => l.startsWith('— county-clerk.example/witness '))).toHaveLength(1);
  });

  test('another instance (no memory of sizes) learns the witness size from its 409 and still collects', async () => {
    const db = t.tdb.database.db;
    const other = createTransparencyLog({
      db,
      keys: t.running.transparency.keys,
      origin: t.running.transparency.origin,
      checkpointKeys: async () => ({ keys: await allSigningKeys(db) }),
      witnesses: [{ url: witnessUrl, key: witness }],
    });
    await other.collectCosignatures();
    expect(verifiedCosignatures(await other.checkpointNote(), [witness])).toHaveLength(1);
  });
});

describe('the add-checkpoint service answers as C2SP tlog-witness says', () => {
  const { signer: logSigner } = generateNoteKey('permits.example.gov/audit');
  const witness = witnessKey(tempDir(), 'w.example/1');
  const service = createWitnessService({ stateDir: tempDir(), signer: witness, logKeys: [logSigner] });
  const leaves = Array.from({ length: 20 }, (_, i) => hashLeaf(new TextEncoder().encode(`e${i}`)));
  const forked = leaves.map((l, i) => (i === 1 ? hashLeaf(new TextEncoder().encode('x')) : l));
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  const note = (tree: Uint8Array[], size: number, signer = logSigner) =>
    signCheckpointNote({ origin: signer.name, size, rootHash: Buffer.from(merkleTreeHash(tree.slice(0, size))).toString('hex') }, [signer]);
  const add = async (old: number, proof: Uint8Array[], cp: string) => {
    const res = await service.fetch(
      new Request('http://w/add-checkpoint', { method: 'POST', body: `old ${old}\n${proof.map((p) => `${b64(p)}\n`).join('')}\n${cp}` }),
    );
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  };

  test('first checkpoint from old 0 is cosigned; the answer is a cosignature line that verifies', async () => {
    const cp = note(leaves, 5);
    const r = await add(0, [], cp);
    expect(r.status).toBe(200);
    expect(verifiedCosignatures(cp + r.body, [witness])).toHaveLength(1);
  });

  test('refusals: unknown origin 404, untrusted signature 403, old > size 400, wrong old 409 with the size, bad proof 422', async () => {
    const { signer: stranger } = generateNoteKey('other.example/log');
    expect((await add(0, [], note(leaves, 6, stranger))).status).toBe(404);
    const { signer: impostor } = generateNoteKey('permits.example.gov/audit');
    expect((await add(5, consistencyPath(5, leaves.slice(0, 9)), note(leaves, 9, impostor))).status).toBe(403);
    expect((await add(12, [], note(leaves, 9))).status).toBe(400);
    const stale = await add(3, consistencyPath(3, leaves.slice(0, 9)), note(leaves, 9));
    expect(stale).toMatchObject({ status: 409, type: 'text/x.tlog.size', body: '5\n' });
    expect((await add(5, consistencyPath(5, forked.slice(0, 9)), note(forked, 9))).status).toBe(422);
    expect((await add(5, [leaves[0]!], note(leaves, 9))).status).toBe(422);
    expect((await add(5, [], note(forked, 5))).status).toBe(409);
  });

  test('the honest continuation is cosigned, and the witness moves on to it', async () => {
    expect((await add(5, consistencyPath(5, leaves.slice(0, 9)), note(leaves, 9))).status).toBe(200);
    expect((await add(5, consistencyPath(5, leaves.slice(0, 12)), note(leaves, 12))).body).toBe('9\n');
  });
});
