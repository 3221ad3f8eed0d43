/**
 * Where the log's note key comes from: generated into DATA_DIR on first use in development (kept, 0600, renamed
 * with the origin), AUDIT_LOG_KEY in production (a development key refused there, as the JWT one is), retired keys
 * kept for old checkpoints; and the AUDIT_* configuration refused at start when malformed.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditLogKeyProblems, LogKeyError, loadLogKeys, logKeysFromConfig } from '../../../src/audit/transparency/log-key.ts';
import { formatVerifierKey, generateNoteKey } from '../../../src/audit/transparency/signed-note.ts';
import { ConfigError, DEV_AUDIT_LOG_ORIGIN, loadConfig } from '../../../src/config.ts';

const dirs: string[] = [];
const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'log-key-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('development key', () => {
  test('generated once into DATA_DIR/audit-log-keys (0600) and reused', () => {
    const dir = dataDir();
    const a = loadLogKeys({ dataDir: dir, origin: 'dev.example/audit', production: false });
    const b = loadLogKeys({ dataDir: dir, origin: 'dev.example/audit', production: false });
    expect(a.development).toBe(true);
    expect(b.signer.keyId).toBe(a.signer.keyId);
    const files = readdirSync(join(dir, 'audit-log-keys'));
    expect(files).toHaveLength(1);
    expect(statSync(join(dir, 'audit-log-keys', files[0]!)).mode & 0o077).toBe(0);
  });

  test('a new origin gets a new key named after it; the old key still verifies', () => {
    const dir = dataDir();
    const a = loadLogKeys({ dataDir: dir, origin: 'one.example/audit', production: false });
    const b = loadLogKeys({ dataDir: dir, origin: 'two.example/audit', production: false });
    expect(b.signer.name).toBe('two.example/audit');
    expect(b.verifiers.map((v) => v.keyId)).toEqual([b.signer.keyId, a.signer.keyId]);
  });
});

describe('production key', () => {
  test('AUDIT_LOG_KEY is used as is, with the retired verifier keys after it', () => {
    const { privateKeyText, signer } = generateNoteKey('permits.example.gov/audit');
    const old = generateNoteKey('permits.example.gov/audit').signer;
    const keys = loadLogKeys({
      dataDir: dataDir(),
      origin: 'permits.example.gov/audit',
      privateKey: privateKeyText,
      retiredVerifierKeys: [formatVerifierKey(old)],
      production: true,
    });
    expect(keys.development).toBe(false);
    expect(keys.signer.keyId).toBe(signer.keyId);
    expect(keys.verifiers.map((v) => v.keyId)).toEqual([signer.keyId, old.keyId]);
  });

  test('no key, a development origin or a malformed key is refused in production', () => {
    expect(() => loadLogKeys({ dataDir: dataDir(), origin: 'permits.example.gov/audit', production: true })).toThrow(LogKeyError);
    expect(() => loadLogKeys({ dataDir: dataDir(), origin: 'x', privateKey: 'PRIVATE+KEY+x+00000000+AAAA', production: true })).toThrow(
      'AUDIT_LOG_KEY',
    );
    const cfg = loadConfig({ APP_ENV: 'production', DATA_DIR: dataDir() });
    expect(auditLogKeyProblems(cfg).join('\n')).toContain('AUDIT_LOG_KEY is not set');
    expect(auditLogKeyProblems(cfg).join('\n')).toContain(`AUDIT_LOG_ORIGIN is the development default (${DEV_AUDIT_LOG_ORIGIN})`);
    expect(() => logKeysFromConfig(cfg)).toThrow(LogKeyError);
    const { privateKeyText } = generateNoteKey('permits.example.gov/audit');
    const good = loadConfig({ APP_ENV: 'production', AUDIT_LOG_ORIGIN: 'permits.example.gov/audit', AUDIT_LOG_KEY: privateKeyText });
    expect(auditLogKeyProblems(good)).toEqual([]);
    expect(auditLogKeyProblems(loadConfig({ APP_ENV: 'development' }))).toEqual([]);
  });
});

describe('configuration', () => {
  test('AUDIT_WITNESSES takes "<URL> <cosigner key>" entries and refuses anything else by name', () => {
    const w = generateNoteKey('w.example/1', 0x04).signer;
    const cfg = loadConfig({
      AUDIT_WITNESSES: `https://w1.example/ ${formatVerifierKey(w)}, http://127.0.0.1:9/w ${formatVerifierKey(w)}`,
    });
    expect(cfg.auditLog.witnesses.map((x) => x.url)).toEqual(['https://w1.example/', 'http://127.0.0.1:9/w']);
    expect(cfg.auditLog.witnesses[0]!.key.keyId).toBe(w.keyId);
    const logKey = formatVerifierKey(generateNoteKey('log.example').signer);
    for (const bad of [
      `https://w1.example/ ${logKey}`,
      formatVerifierKey(w),
      `ftp://x ${formatVerifierKey(w)}`,
      'https://w1.example/ not-a-key',
    ]) {
      expect(() => loadConfig({ AUDIT_WITNESSES: bad })).toThrow(ConfigError);
    }
  });

  test('AUDIT_LOG_ORIGIN must be a key name (no spaces, no +)', () => {
    expect(loadConfig({}).auditLog.origin).toBe(DEV_AUDIT_LOG_ORIGIN);
    expect(() => loadConfig({ AUDIT_LOG_ORIGIN: 'a b' })).toThrow('AUDIT_LOG_ORIGIN');
    expect(() => loadConfig({ AUDIT_LOG_ORIGIN: 'a+b' })).toThrow(ConfigError);
  });
});
