/**
 * SIGUSR2 → a full garbage collection and one log line with the memory left (src/ops/memory-report.ts): the
 * benchmark's leak check compares these figures across runs.
 */
import { afterAll, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heapStats } from 'bun:jsc';
import { collectAndReport } from '../../src/ops/memory-report.ts';
import { freePort } from '../helpers/app-process.ts';

// starts a server on the embedded database: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('collectAndReport frees what nothing references any more', () => {
  let garbage: { i: number; s: string }[] | null = Array.from({ length: 400_000 }, (_, i) => ({ i, s: `entry ${i}` }));
  const held = heapStats().heapSize / 2 ** 20;
  expect(garbage.length).toBe(400_000);
  garbage = null;
  const report = collectAndReport();
  // ~400k objects with a string each: well over 20 MB while referenced
  expect(held - report.heap_used_mb).toBeGreaterThan(20);
  expect(report.rss_mb).toBeGreaterThan(0);
  expect(report.heap_capacity_mb).toBeGreaterThanOrEqual(report.heap_used_mb);
  expect(report.objects).toBeGreaterThan(0);
  expect(report.gc_ms).toBeGreaterThanOrEqual(0);
});

test('the server answers SIGUSR2 with a memory report and keeps serving (the default action would end it)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pg-memreport-'));
  dirs.push(dataDir);
  const port = await freePort();
  // the embedded database: the signal handler does not depend on which one
  const { DATABASE_URL: _, ...env } = process.env;
  const proc = Bun.spawn(['bun', 'run', 'src/main.ts'], {
    env: { ...env, APP_ENV: 'test', LOG_LEVEL: 'warn', SEED: 'none', DATA_DIR: dataDir, PORT: String(port) },
    stdout: 'pipe',
    stderr: 'inherit',
  });
  const url = `http://127.0.0.1:${port}`;
  const lines: Record<string, unknown>[] = [];
  const reader = (async () => {
    let buffered = '';
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
      buffered += new TextDecoder().decode(chunk);
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {}
      }
    }
  })();
  try {
    for (let i = 0; ; i++) {
      if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
      if (
        await fetch(`${url}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        )
      )
        break;
      if (i > 600) throw new Error('server did not become ready');
      await Bun.sleep(100);
    }
    const reports = () => lines.filter((l) => l.msg === 'memory after a full garbage collection');
    for (let round = 1; round <= 2; round++) {
      proc.kill('SIGUSR2');
      for (let i = 0; reports().length < round && i < 200; i++) await Bun.sleep(50);
      expect(reports()).toHaveLength(round);
    }
    const memory = reports().at(-1)!.memory as Record<string, number>;
    expect(memory.rss_mb).toBeGreaterThan(10);
    expect(memory.heap_used_mb).toBeGreaterThan(1);
    expect(memory.heap_capacity_mb).toBeGreaterThanOrEqual(memory.heap_used_mb!);
    expect(memory.objects).toBeGreaterThan(1000);
    expect(typeof memory.gc_ms).toBe('number');
    expect(proc.exitCode).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  } finally {
    proc.kill('SIGTERM');
    await proc.exited;
    await reader.catch(() => {});
  }
  expect(proc.exitCode as number | null).toBe(0);
});
