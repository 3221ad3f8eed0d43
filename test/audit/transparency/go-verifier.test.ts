/**
 * Interoperability: our signed note, verifier key, consistency proof and tlog-proof checked by Go's
 * golang.org/x/mod/sumdb/note and sumdb/tlog (go-verifier/main.go, GOPATH-style against Debian's
 * golang-golang-x-mod-dev). Skipped when `go` or those sources are not installed.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
