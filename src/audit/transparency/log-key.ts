/**
 * The audit log's Ed25519 note key (C2SP signed-note), which signs the tlog checkpoints.
 *
 * Production: `AUDIT_LOG_KEY` (or the file named by `AUDIT_LOG_KEY_FILE`) holds `PRIVATE+KEY+<name>+<id>+<key>`,
 * the format of Go's `note.GenerateKey`; a development key is refused there, as the JWT one is. Development: keys
 * generated into `DATA_DIR/audit-log-keys/` (mode 0600) on first use; the newest is active. Rotation keeps every
 * older public key (retired development key files, `AUDIT_LOG_RETIRED_KEYS` in production) so checkpoints signed
 * before it still verify; the new key's verifier line is announced at GET /audit/verifier-key.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_AUDIT_LOG_ORIGIN, type AppConfig } from '../../config.ts';
import {
  formatVerifierKey,
  generateNoteKey,
  parsePrivateKey,
  parseVerifierKey,
  SIG_ED25519,
  type NoteSigner,
  type NoteVerifier,
} from './signed-note.ts';

export interface LogKeys {
  /** Signs new checkpoints. */
  signer: NoteSigner;
  /** The active key first, then retired ones: enough to open every checkpoint the log ever published. */
  verifiers: NoteVerifier[];
  /** True when the key was generated into DATA_DIR. */
  development: boolean;
}

export interface LogKeyOptions {
  dataDir: string;
  /** The checkpoint origin; a new development key is named after it. */
  origin: string;
  /** `PRIVATE+KEY+…` text (AUDIT_LOG_KEY, or the contents of AUDIT_LOG_KEY_FILE). */
  privateKey?: string | undefined;
  /** Verifier keys of retired production keys. */
  retiredVerifierKeys?: readonly string[];
  production: boolean;
}

export class LogKeyError extends Error {
  override name = 'LogKeyError';
}

const DEV_ORIGIN_PROBLEM = `AUDIT_LOG_ORIGIN is the development default (${DEV_AUDIT_LOG_ORIGIN}). Set it to a name for this log, e.g. permits.example.gov/audit.`;
const NO_KEY_PROBLEM =
  'AUDIT_LOG_KEY is not set: audit checkpoints would be signed with a development key from DATA_DIR. ' +
  'Set AUDIT_LOG_KEY (or AUDIT_LOG_KEY_FILE) to a key from `bun run cli audit log-key generate`.';

const keyDir = (dataDir: string) => join(dataDir, 'audit-log-keys');

function devKeyFiles(dataDir: string): string[] {
  const dir = keyDir(dataDir);
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.key'))
        .sort()
    : [];
}

/** Generates a development key named `origin`; it becomes the active one. */
export function rotateDevLogKey(dataDir: string, origin: string): NoteSigner {
  const dir = keyDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { signer, privateKeyText } = generateNoteKey(origin, SIG_ED25519);
  const file = join(dir, `${Date.now().toString().padStart(15, '0')}-${signer.keyId.toString(16).padStart(8, '0')}.key`);
  writeFileSync(file, `${privateKeyText}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return signer;
}

const publicOf = (s: NoteSigner): NoteVerifier => ({ name: s.name, keyId: s.keyId, type: s.type, publicKey: s.publicKey });

export function loadLogKeys(o: LogKeyOptions): LogKeys {
  const retired = (o.retiredVerifierKeys ?? []).map((k) => {
    try {
      return parseVerifierKey(k);
    } catch (err) {
      throw new LogKeyError(`AUDIT_LOG_RETIRED_KEYS: "${k}" is not a verifier key: ${(err as Error).message}`);
    }
  });
  if (o.privateKey) {
    let signer: NoteSigner;
    try {
      signer = parsePrivateKey(o.privateKey);
    } catch (err) {
      throw new LogKeyError(`AUDIT_LOG_KEY is not a signed-note private key (PRIVATE+KEY+name+id+key): ${(err as Error).message}`);
    }
    if (signer.type !== SIG_ED25519) throw new LogKeyError('AUDIT_LOG_KEY must be an Ed25519 (type 0x01) key');
    return { signer, verifiers: [publicOf(signer), ...retired], development: false };
  }
  if (o.production) throw new LogKeyError(NO_KEY_PROBLEM);
  const files = devKeyFiles(o.dataDir);
  const keys = files.map((f) => parsePrivateKey(readFileSync(join(keyDir(o.dataDir), f), 'utf8')));
  let signer = keys.at(-1);
  // a changed origin needs a key of that name: rotate, keeping the old one for the checkpoints it signed
  if (!signer || signer.name !== o.origin) signer = rotateDevLogKey(o.dataDir, o.origin);
  const older = keys
    .filter((k) => k !== signer)
    .reverse()
    .map(publicOf);
  return { signer, verifiers: [publicOf(signer), ...older, ...retired], development: true };
}

/** The active verifier key line, as served at GET /audit/verifier-key. */
export const activeVerifierKey = (keys: LogKeys) => formatVerifierKey(keys.signer);

/** Start-up refusals for production (main.ts adds them to the production checklist before opening anything). */
export function auditLogKeyProblems(cfg: Pick<AppConfig, 'env' | 'auditLog'>): string[] {
  if (cfg.env !== 'production') return [];
  const problems: string[] = [];
  if (!cfg.auditLog.privateKey && !cfg.auditLog.privateKeyFile) problems.push(NO_KEY_PROBLEM);
  if (cfg.auditLog.origin === DEV_AUDIT_LOG_ORIGIN) problems.push(DEV_ORIGIN_PROBLEM);
  return problems;
}

/** The log keys as configured (AUDIT_LOG_* and DATA_DIR); in production also refuses the development origin. */
export function logKeysFromConfig(cfg: AppConfig): LogKeys {
  const production = cfg.env === 'production';
  if (production && cfg.auditLog.origin === DEV_AUDIT_LOG_ORIGIN) throw new LogKeyError(DEV_ORIGIN_PROBLEM);
  let privateKey = cfg.auditLog.privateKey;
  if (!privateKey && cfg.auditLog.privateKeyFile) {
    try {
      privateKey = readFileSync(cfg.auditLog.privateKeyFile, 'utf8').trim();
    } catch (err) {
      throw new LogKeyError(
        `AUDIT_LOG_KEY_FILE: cannot read ${cfg.auditLog.privateKeyFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  return loadLogKeys({
    dataDir: cfg.dataDir,
    origin: cfg.auditLog.origin,
    privateKey,
    retiredVerifierKeys: cfg.auditLog.retiredKeys,
    production,
  });
}
