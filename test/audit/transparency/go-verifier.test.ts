/**
 * Interoperability: our signed note, verifier key, consistency proof and tlog-proof checked by Go's
 * golang.org/x/mod/sumdb/note and sumdb/tlog (go-verifier/main.go, GOPATH-style against Debian's
 * golang-golang-x-mod-dev). Then the done-criterion: the Go program, given only the log's key (and a
 * witness's), reads nothing but the public endpoints over HTTP (checkpoint, tlog-tiles hash tiles) and proves
 * cosignature, consistency and inclusion; a rewritten log, a split view and tampered tiles are refused.
 * Skipped when `go` or those sources are not installed.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { hashLeaf, merkleTreeHash } from '../../../src/audit/merkle.ts';
import { signCheckpointNote } from '../../../src/audit/transparency/checkpoint-note.ts';
import { createTileHasher, leavesNeeded, parseTilePath } from '../../../src/audit/transparency/hash-tiles.ts';
import { formatVerifierKey, parseVerifierKey } from '../../../src/audit/transparency/signed-note.ts';
import { createWitnessService } from '../../../src/audit/transparency/witness-server.ts';
import { witnessKey } from '../../../src/audit/transparency/witness.ts';
import { rowsOf } from '../../../src/db/rows.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { getText, growAndCheckpoint } from './support.ts';

setDefaultTimeout(180_000);

const GOPATH = '/usr/share/gocode';
const haveGo =
  Boolean(Bun.which('go')) &&
  existsSync(join(GOPATH, 'src/golang.org/x/mod/sumdb/note/note.go')) &&
  existsSync(join(GOPATH, 'src/golang.org/x/mod/sumdb/tlog/tlog.go'));
const PROGRAM = join(import.meta.dir, 'go-verifier', 'main.go');

let t: TestServer;
let dir: string;
const files: Record<string, string> = {};

async function goVerify(args: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(['go', 'run', PROGRAM, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, GOPATH, GO111MODULE: 'off', GOCACHE: join(dir, 'gocache'), GOFLAGS: '' },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out: out + err };
}

const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  files[name] = p;
  return p;
};

describe.skipIf(!haveGo)("Go's sumdb/note and sumdb/tlog verify what we publish", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'go-verifier-'));
    t = await startTestServer({ AUDIT_LOG_ORIGIN: 'permits.example.gov/audit' });
    await growAndCheckpoint(t, 3);
    write('old.note', (await getText(`${t.url}/audit/checkpoint`)).body);
    await growAndCheckpoint(t, 6);
    const newer = (await getText(`${t.url}/audit/checkpoint`)).body;
    write('new.note', newer);
    write('vkey', (await getText(`${t.url}/audit/verifier-key`)).body);
    const sizes = [(await Bun.file(files['old.note']!).text()).split('\n')[1], newer.split('\n')[1]].map(Number);
    const r = await t.gql<{ auditConsistency: string[] }>(
      'query($a: Int!, $b: Int!) { auditConsistency(fromSize: $a, toSize: $b) }',
      { a: sizes[0], b: sizes[1] },
      await t.token('demo-compliance'),
    );
    write('consistency.txt', `${r.body.data!.auditConsistency.join('\n')}\n`);
    write('entry.tlog-proof', await t.running.transparency.entryProof(2));
  });
  afterAll(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const vkeyArg = () => ['-vkey', readFileSync(files.vkey!, 'utf8')];

  test('the note, the consistency proof and the inclusion proof all verify', async () => {
    const r = await goVerify([
      ...vkeyArg(),
      '-old',
      files['old.note']!,
      '-new',
      files['new.note']!,
      '-consistency',
      files['consistency.txt']!,
      '-proof',
      files['entry.tlog-proof']!,
    ]);
    expect(r.out).not.toContain('FAIL');
    expect(r.code).toBe(0);
    expect(r.out).toContain('ok checkpoint permits.example.gov/audit');
    expect(r.out).toMatch(/ok consistency \d+ -> \d+/);
    expect(r.out).toContain('ok inclusion of seq 2');
  });

  test('a forged consistency proof is refused by tlog.CheckTree', async () => {
    const lines = (await Bun.file(files['consistency.txt']!).text()).trim().split('\n');
    lines[0] = lines[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const forged = write('forged-consistency.txt', `${lines.join('\n')}\n`);
    const r = await goVerify([...vkeyArg(), '-old', files['old.note']!, '-new', files['new.note']!, '-consistency', forged]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL: tlog.CheckTree');
  });

  test('an altered checkpoint is refused by note.Open', async () => {
    const text = await Bun.file(files['new.note']!).text();
    const [origin, size, ...rest] = text.split('\n');
    const altered = write('altered.note', [origin, String(Number(size) + 1), ...rest].join('\n'));
    const r = await goVerify([...vkeyArg(), '-new', altered]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL: note.Open');
  });

  test('an inclusion proof for another index is refused by tlog.CheckRecord', async () => {
    const text = await Bun.file(files['entry.tlog-proof']!).text();
    const path = text.split('\n\n')[0]!.split('\n').slice(3);
    const swapped = text.replace(path[0]!, path[1] ?? Buffer.alloc(32).toString('base64'));
    const r = await goVerify([...vkeyArg(), '-proof', write('swapped.tlog-proof', swapped)]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL: tlog.CheckRecord');
  });
});

/** A log server of our own making: serves `note` and the hash tiles of `leaves` (a log rewritten by its operator). */
function serveLog(note: string, leaves: Uint8Array[]) {
  const tiles = createTileHasher(async (start, count) => {
    if (start + count > leaves.length) throw new Error('beyond the log');
    return leaves.slice(start, start + count);
  });
  return Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === '/audit/checkpoint') return new Response(note);
      const c = path.startsWith('/audit/tile/') ? parseTilePath(path.slice('/audit/tile/'.length)) : null;
      if (!c || leavesNeeded(c) > leaves.length) return new Response('not found', { status: 404 });
      return new Response(await tiles.tile(c));
    },
  });
}

describe.skipIf(!haveGo)("an outsider with only the public endpoints verifies with Go's sumdb/tlog", () => {
  let t: TestServer;
  const servers: { stop(force?: boolean): unknown }[] = [];
  let oldNote = '';
  let logKey = '';
  let witnessVkey = '';
  let leaves: Uint8Array[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'go-verifier-'));
    const witness = witnessKey(join(dir, 'witness'), 'county-clerk.example/witness');
    witnessVkey = formatVerifierKey(witness);
    let service: ReturnType<typeof createWitnessService> | null = null;
    const witnessServer = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: (req) => service?.fetch(req) ?? new Response('starting', { status: 503 }),
    });
    servers.push(witnessServer);
    t = await startTestServer({
      AUDIT_LOG_ORIGIN: 'permits.example.gov/audit',
      AUDIT_WITNESSES: `http://127.0.0.1:${witnessServer.port} ${witnessVkey}`,
    });
    // the log's key reaches the outsider out of band (here: from the running log, not over HTTP)
    logKey = t.running.transparency.verifierKey();
    service = createWitnessService({ stateDir: join(dir, 'witness'), signer: witness, logKeys: [parseVerifierKey(logKey)] });
    await growAndCheckpoint(t, 3);
    await t.running.transparency.collectCosignatures();
    oldNote = (await getText(`${t.url}/audit/checkpoint`)).body;
    write('public-old.note', oldNote);
    // past one full tile, so level-1 tiles are read too
    const tok = await t.token('demo-clerk');
    for (let i = 0; i < 14; i++) {
      await Promise.all(
        Array.from({ length: 20 }, () => t.gql('query { permit(number: "DC-BLD-2024-000001") { number } }', undefined, tok)),
      );
    }
    await t.running.audit.flush();
    await t.running.audit.checkpoint();
    await t.running.transparency.collectCosignatures();
    const size = (await t.running.transparency.latestHead()).size;
    const rows = rowsOf<{ hash: string }>(
      await t.tdb.database.db.execute(sql`select hash from audit_entries where seq <= ${size} order by seq`),
    );
    leaves = rows.map((r) => hashLeaf(Buffer.from(r.hash, 'hex')));
    write('entry-hashes.txt', rows.map((r) => r.hash).join('\n'));
  });
  afterAll(async () => {
    await t?.stop();
    for (const s of servers) s.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });

  const entryHash = (seq: number) => readFileSync(files['entry-hashes.txt']!, 'utf8').split('\n')[seq - 1]!;

  test('cosignature, consistency with the older checkpoint and inclusion, from the checkpoint and tiles alone', async () => {
    expect(leaves.length).toBeGreaterThan(256);
    const r = await goVerify([
      '-vkey',
      logKey,
      '-url',
      t.url,
      '-witness',
      witnessVkey,
      '-old',
      files['public-old.note']!,
      '-leaf-index',
      '269',
      '-leaf-data',
      entryHash(270),
    ]);
    expect(r.out).not.toContain('FAIL');
    expect(r.code).toBe(0);
    expect(r.out).toContain('ok cosignature by county-clerk.example/witness');
    expect(r.out).toMatch(/ok consistency \d+ -> \d+ from tiles/);
    expect(r.out).toContain(`ok inclusion of leaf 269 in tree ${leaves.length} from tiles`);
  });

  test('an entry that is not the one at that index is refused by tlog.CheckRecord', async () => {
    const r = await goVerify(['-vkey', logKey, '-url', t.url, '-leaf-index', '269', '-leaf-data', entryHash(271)]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL: tlog.CheckRecord');
  });

  test('a rewritten log, re-signed with the log key, does not extend the older checkpoint and has no cosignature', async () => {
    const rewritten = leaves.map((l, i) => (i === 1 ? hashLeaf(new TextEncoder().encode('rewritten')) : l));
    const note = signCheckpointNote(
      { origin: 'permits.example.gov/audit', size: rewritten.length, rootHash: Buffer.from(merkleTreeHash(rewritten)).toString('hex') },
      [t.running.transparency.keys.signer],
    );
    const fake = serveLog(note, rewritten);
    servers.push(fake);
    const url = `http://127.0.0.1:${fake.port}`;
    const r = await goVerify(['-vkey', logKey, '-url', url, '-old', files['public-old.note']!]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL: tlog.CheckTree');
    const w = await goVerify(['-vkey', logKey, '-url', url, '-witness', witnessVkey]);
    expect(w.code).toBe(1);
    expect(w.out).toContain('FAIL: no valid cosignature from witness county-clerk.example/witness');
  });

  test('a split view (another tree of the older size) is refused', async () => {
    const oldSize = Number(oldNote.split('\n')[1]);
    const forked = leaves.slice(0, oldSize).map((l, i) => (i === 0 ? hashLeaf(new TextEncoder().encode('fork')) : l));
    const note = signCheckpointNote(
      { origin: 'permits.example.gov/audit', size: oldSize, rootHash: Buffer.from(merkleTreeHash(forked)).toString('hex') },
      [t.running.transparency.keys.signer],
    );
    const fake = serveLog(note, forked);
    servers.push(fake);
    const r = await goVerify(['-vkey', logKey, '-url', `http://127.0.0.1:${fake.port}`, '-old', files['public-old.note']!]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL: tlog.CheckTree');
  });

  test('tiles altered in transit under the genuine checkpoint are refused by TileHashReader', async () => {
    const proxy = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      async fetch(req) {
        const res = await fetch(`${t.url}${new URL(req.url).pathname}`);
        const body = new Uint8Array(await res.arrayBuffer());
        if (new URL(req.url).pathname.startsWith('/audit/tile/') && body.length > 0) body[body.length - 1]! ^= 1;
        return new Response(body, { status: res.status });
      },
    });
    servers.push(proxy);
    const r = await goVerify(['-vkey', logKey, '-url', `http://127.0.0.1:${proxy.port}`, '-leaf-index', '1', '-leaf-data', entryHash(2)]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('downloaded inconsistent tile');
  });
});
