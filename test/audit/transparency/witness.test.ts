/**
 * Witnesses: one against the real server (trust on first use, then consistency-checked rounds, cosignatures that
 * verify), and one against a malicious log (a fake server with the log's key) that rolls back, shows a split
 * view, forks its history or forges a consistency proof: each refused and named, and the witness's state does
 * not move. The CLI exits non-zero naming the refusal.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashLeaf, merkleTreeHash } from '../../../src/audit/merkle.ts';
import { openCheckpoint, signCheckpointNote } from '../../../src/audit/transparency/checkpoint-note.ts';
import { consistencyPath } from '../../../src/audit/transparency/consistency.ts';
import { verifiedCosignatures } from '../../../src/audit/transparency/cosignature.ts';
import { formatVerifierKey, generateNoteKey, parseVerifierKey, type NoteSigner } from '../../../src/audit/transparency/signed-note.ts';
import { createTileHasher, leavesNeeded, parseTilePath } from '../../../src/audit/transparency/hash-tiles.ts';
import { WitnessRefusal, witnessOnce } from '../../../src/audit/transparency/witness.ts';
import { runCli } from '../../cli/support.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { growAndCheckpoint } from './support.ts';

setDefaultTimeout(120_000);

const dirs: string[] = [];
const stateDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'witness-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('a witness of the real log', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.stop());

  test('pins the key on first use, then cosigns each checkpoint that extends the last one', async () => {
    const dir = stateDir();
    await growAndCheckpoint(t, 2);
    const first = await witnessOnce({ logUrl: t.url, stateDir: dir, name: 'clerk.example/witness' });
    expect(first.pinnedNow).toBe(true);
    expect(first.previousSize).toBeNull();
    const witness = parseVerifierKey(readFileSync(join(dir, 'witness.vkey'), 'utf8'));
    expect(verifiedCosignatures(first.cosigned, [witness]).map((c) => c.witness.name)).toEqual(['clerk.example/witness']);

    await growAndCheckpoint(t, 3);
    const token = await t.token('demo-compliance');
    const second = await witnessOnce({ logUrl: t.url, stateDir: dir, token });
    expect(second.pinnedNow).toBe(false);
    expect(second.previousSize).toBe(first.checkpoint.size);
    expect(second.checkpoint.size).toBeGreaterThan(first.checkpoint.size);
    // the cosigned note still opens with the log's key: the cosignature is one more line
    const logKey = parseVerifierKey(readFileSync(join(dir, 'log.vkey'), 'utf8').trim());
    expect(openCheckpoint(second.cosigned, [logKey]).size).toBe(second.checkpoint.size);
    expect(verifiedCosignatures(second.cosigned, [witness])).toHaveLength(1);
  });

  test('an outsider checks two saved checkpoints with cli audit consistency --log, no database', async () => {
    const vkey = (await fetch(`${t.url}/audit/verifier-key`).then((r) => r.text())).trim();
    const dir = stateDir();
    const save = async (name: string) => {
      const path = join(dir, name);
      await Bun.write(path, await fetch(`${t.url}/audit/checkpoint`).then((r) => r.text()));
      return path;
    };
    const older = await save('old.cp');
    await growAndCheckpoint(t, 2);
    const newer = await save('new.cp');
    const token = await t.token('demo-compliance');
    const ok = await runCli(['audit', 'consistency', older, newer, '--log', t.url, '--token', token, '--log-key', vkey], {});
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const swapped = await runCli(['audit', 'consistency', newer, older, '--log', t.url, '--token', token, '--log-key', vkey], {});
    expect(swapped.code).toBe(1);
    expect(swapped.stderr).toContain('rollback');
    const noKey = await runCli(['audit', 'consistency', older, newer, '--log', t.url, '--token', token], {});
    expect(noKey.code).toBe(2);
    // no token: the proof is built from the public hash tiles
    const public_ = await runCli(['audit', 'consistency', older, newer, '--log', t.url, '--log-key', vkey], {});
    expect(public_.stderr).toBe('');
    expect(public_.code).toBe(0);
  });

  test('with --tiles and no token, the witness builds each consistency proof from the public hash tiles', async () => {
    const dir = stateDir();
    await growAndCheckpoint(t, 2);
    const first = await witnessOnce({ logUrl: t.url, stateDir: dir, proofs: 'tiles' });
    await growAndCheckpoint(t, 3);
    const second = await witnessOnce({ logUrl: t.url, stateDir: dir, proofs: 'tiles' });
    expect(second.previousSize).toBe(first.checkpoint.size);
    expect(second.checkpoint.size).toBeGreaterThan(first.checkpoint.size);
    await growAndCheckpoint(t, 1);
    const r = await runCli(['audit', 'witness', '--log', t.url, '--state', dir, '--tiles', '--json'], {});
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, previousSize: second.checkpoint.size });
  });

  test('bun run cli audit witness does the same from a shell', async () => {
    const dir = stateDir();
    const r = await runCli(['audit', 'witness', '--log', t.url, '--state', dir, '--name', 'auditor.example/w'], {});
    expect(r.stderr).toContain('pinned the log key');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\n\u2014 auditor\.example\/w \S+\n$/);
  });
});

/** A log under the test's control, signing with a real log key: what a compromised operator could serve. */
function maliciousLog(logKey: NoteSigner) {
  const origin = logKey.name;
  const honest = Array.from({ length: 40 }, (_, i) => hashLeaf(new TextEncoder().encode(`entry ${i}`)));
  const forked = honest.map((l, i) => (i === 3 ? hashLeaf(new TextEncoder().encode('rewritten')) : l));
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  let view = { leaves: honest, size: 8, signer: logKey };
  let proofFor: (from: number, to: number) => string[] = (from, to) => consistencyPath(from, view.leaves.slice(0, to)).map(hex);
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === '/audit/verifier-key') return new Response(`${formatVerifierKey(logKey)}\n`);
      if (path === '/audit/checkpoint') {
        return new Response(
          signCheckpointNote({ origin, size: view.size, rootHash: hex(merkleTreeHash(view.leaves.slice(0, view.size))) }, [view.signer]),
        );
      }
      const tile = path.startsWith('/audit/tile/') ? parseTilePath(path.slice('/audit/tile/'.length)) : null;
      if (tile && leavesNeeded(tile) <= view.size) {
        const leaves = view.leaves.slice(0, view.size);
        return new Response(await createTileHasher(async (start, count) => leaves.slice(start, start + count)).tile(tile));
      }
      if (path === '/graphql') {
        const { variables } = (await req.json()) as { variables: { a: number; b: number } };
        return Response.json({ data: { auditConsistency: proofFor(variables.a, variables.b) } });
      }
      return new Response('not found', { status: 404 });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    honest,
    forked,
    show(leaves: Uint8Array[], size: number, signer = logKey) {
      view = { leaves, size, signer };
    },
    proofs(fn: typeof proofFor) {
      proofFor = fn;
    },
    stop: () => server.stop(true),
  };
}

describe('a witness of a malicious log', () => {
  const { signer: logKey } = generateNoteKey('permits.example.gov/audit');
  const log = maliciousLog(logKey);
  const dir = stateDir();
  const round = () => witnessOnce({ logUrl: log.url, stateDir: dir, logKeys: [formatVerifierKey(logKey)] });
  const refusal = async () => {
    try {
      await round();
    } catch (err) {
      if (err instanceof WitnessRefusal) return err;
      throw err;
    }
    throw new Error('the witness accepted it');
  };
  const seenSize = () => Number(readFileSync(join(dir, 'checkpoint'), 'utf8').split('\n')[1]);
  afterAll(() => log.stop());

  test('the honest start is cosigned', async () => {
    expect((await round()).checkpoint.size).toBe(8);
  });

  test('a smaller tree is a rollback', async () => {
    log.show(log.honest, 5);
    expect((await refusal()).kind).toBe('rollback');
  });

  test('another tree of the same size is a split view', async () => {
    log.show(log.forked, 8);
    const r = await refusal();
    expect(r.kind).toBe('split view');
    expect(r.message).toContain('two different trees of size 8');
  });

  test('a larger tree over a rewritten history is a fork, however the proof is made', async () => {
    log.show(log.forked, 12);
    expect((await refusal()).kind).toBe('fork');
  });

  test('forged proofs for an honest-looking root are refused (GHSA-672p-m5jq-mrh8)', async () => {
    log.show(log.forked, 12);
    const honestOld = Buffer.from(merkleTreeHash(log.honest.slice(0, 8))).toString('hex');
    const forgeries: Record<string, (from: number, to: number) => string[]> = {
      empty: () => [],
      'the old root alone': () => [honestOld],
      'random hashes': () => Array.from({ length: 4 }, (_, i) => String(i).repeat(64)),
      'honest proof plus padding': (f, t) => [
        ...consistencyPath(f, log.honest.slice(0, t)).map((b) => Buffer.from(b).toString('hex')),
        honestOld,
      ],
      'not hex': () => ['zz'.repeat(32)],
    };
    for (const [what, forge] of Object.entries(forgeries)) {
      log.proofs(forge);
      const r = await refusal();
      expect({ what, kind: r.kind }).toEqual({ what, kind: 'fork' });
    }
    expect(seenSize()).toBe(8);
  });

  test('a checkpoint signed by another key is refused', async () => {
    const { signer: other } = generateNoteKey('permits.example.gov/audit');
    log.show(log.honest, 12, other);
    expect((await refusal()).kind).toBe('signature');
  });

  test('after all that, the honest continuation is accepted and the state moves on', async () => {
    log.show(log.honest, 12);
    log.proofs((from, to) => consistencyPath(from, log.honest.slice(0, to)).map((b) => Buffer.from(b).toString('hex')));
    const r = await round();
    expect(r.previousSize).toBe(8);
    expect(seenSize()).toBe(12);
  });

  test('the CLI exits 1 naming the split view', async () => {
    log.show(log.forked, 12);
    const r = await runCli(['audit', 'witness', '--log', log.url, '--state', dir], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused: split view');
  });

  test('with proofs from the tiles, a larger tree over a rewritten history is a fork too', async () => {
    log.show(log.forked, 20);
    const r = await witnessOnce({ logUrl: log.url, stateDir: dir, logKeys: [formatVerifierKey(logKey)], proofs: 'tiles' }).catch((e) => e);
    expect(r).toBeInstanceOf(WitnessRefusal);
    expect((r as WitnessRefusal).kind).toBe('fork');
    log.show(log.honest, 20);
    expect(
      (await witnessOnce({ logUrl: log.url, stateDir: dir, logKeys: [formatVerifierKey(logKey)], proofs: 'tiles' })).previousSize,
    ).toBe(12);
    expect(seenSize()).toBe(20);
  });
});

describe('a split view shown to two witnesses', () => {
  test('neither view gathers a quorum, and showing a witness the other view is refused as a split view', async () => {
    const { signer: logKey } = generateNoteKey('permits.example.gov/audit');
    const log = maliciousLog(logKey);
    try {
      const [dir1, dir2] = [stateDir(), stateDir()];
      const pin = [formatVerifierKey(logKey)];
      log.show(log.honest, 10);
      const viewA = await witnessOnce({ logUrl: log.url, stateDir: dir1, logKeys: pin, name: 'w1.example' });
      log.show(log.forked, 10);
      const viewB = await witnessOnce({ logUrl: log.url, stateDir: dir2, logKeys: pin, name: 'w2.example' });
      const witnesses = [dir1, dir2].map((d) => parseVerifierKey(readFileSync(join(d, 'witness.vkey'), 'utf8')));
      // a client requiring both witnesses accepts neither view
      expect(verifiedCosignatures(viewA.cosigned, witnesses)).toHaveLength(1);
      expect(verifiedCosignatures(viewB.cosigned, witnesses)).toHaveLength(1);
      // to complete a quorum the log must show w1 the other tree, and w1 names it
      await expect(witnessOnce({ logUrl: log.url, stateDir: dir1, logKeys: pin })).rejects.toThrow('split view');
    } finally {
      log.stop();
    }
  });
});

describe('a witness across a log key rotation', () => {
  test('refuses the new key until it is pinned, then checks the new tree against the one the old key signed', async () => {
    const { signer: oldKey } = generateNoteKey('permits.example.gov/audit');
    const { signer: newKey } = generateNoteKey('permits.example.gov/audit');
    const log = maliciousLog(oldKey);
    try {
      const dir = stateDir();
      log.show(log.honest, 8);
      await witnessOnce({ logUrl: log.url, stateDir: dir, logKeys: [formatVerifierKey(oldKey)] });
      // the log now signs with a key this witness was never told about: never trusted silently
      log.show(log.honest, 12, newKey);
      await expect(witnessOnce({ logUrl: log.url, stateDir: dir })).rejects.toThrow('signature');
      // pinned next to the old one: the checkpoint the old key signed still opens, so a rewrite is still a fork
      log.show(log.forked, 12, newKey);
      await expect(witnessOnce({ logUrl: log.url, stateDir: dir, logKeys: [formatVerifierKey(newKey)] })).rejects.toThrow('fork');
      log.show(log.honest, 12, newKey);
      const r = await witnessOnce({ logUrl: log.url, stateDir: dir });
      expect(r.previousSize).toBe(8);
      expect(r.checkpoint.note.verifiedBy.map((v) => v.keyId)).toEqual([newKey.keyId]);
      expect(readFileSync(join(dir, 'log.vkey'), 'utf8').trim().split('\n')).toEqual([oldKey, newKey].map(formatVerifierKey));
    } finally {
      log.stop();
    }
  });
});
