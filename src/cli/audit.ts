/**
 * `audit verify|checkpoint|export`: the tamper-evident audit log from the operator's shell.
 *
 * Checkpoints are signed with the built-in issuer's key (their JWS `typ` keeps them apart from tokens).
 * Verification accepts every key the issuer ever published, retired ones included: a checkpoint must keep
 * verifying long after the tokens signed with the same key have expired.
 */
import type { JWK } from 'jose';
import { and, asc, gt, gte, lt } from 'drizzle-orm';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../audit/canonical-json.ts';
import { redactVariables } from '../audit/redact.ts';
import { takeCheckpoint } from '../audit/take-checkpoint.ts';
import { verifyAuditTrail } from '../audit/verify-trail.ts';
import { logKeysFromConfig } from '../audit/transparency/log-key.ts';
import { createTransparencyLog } from '../audit/transparency/transparency-log.ts';
import { allSigningKeys, loadSigningKey, type SigningKey } from '../auth/signing-keys.ts';
import type { AppConfig } from '../config.ts';
import type { Executor } from '../db/client.ts';
import { auditEntries } from '../db/schema/audit.ts';
import type { Command } from './command.ts';
import { withDatabase } from './database.ts';
import { csvCell } from './export-permits.ts';
import { CliError, ExitCode, parseOptions, required, usageError } from './io.ts';

/** The active signing key, without creating one when none exists yet (then there is nothing to verify with). */
async function existingSigningKey(cfg: AppConfig): Promise<SigningKey | null> {
  const dir = join(cfg.dataDir, 'keys');
  const hasDevKey = existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.pem'));
  if (!cfg.jwt.signingKeyPem && !hasDevKey) return null;
  return loadSigningKey({ dataDir: cfg.dataDir, pem: cfg.jwt.signingKeyPem });
}

/** Every public key the issuer has published (retired ones too), plus the local active key. */
async function checkpointKeys(db: Executor, cfg: AppConfig): Promise<JWK[]> {
  const keys = new Map((await allSigningKeys(db)).map((k) => [k.kid, k]));
  const local = await existingSigningKey(cfg);
  if (local) keys.set(local.kid, local.publicJwk);
  return [...keys.values()];
}

/** The latest checkpoint as the C2SP note the server publishes. */
async function checkpointNote(db: Executor, cfg: AppConfig): Promise<string> {
  const keys = await checkpointKeys(db, cfg);
  return createTransparencyLog({
    db,
    keys: logKeysFromConfig(cfg),
    origin: cfg.auditLog.origin,
    checkpointKeys: async () => ({ keys }),
  }).checkpointNote();
}

/** Compact JWSs in a checkpoint file: JSON from `audit checkpoint --json` (one, or an array), or any text holding them. */
export function parseCheckpointFile(text: string): string[] {
  const fromJson = (v: unknown): string[] => {
    if (typeof v === 'string') return [v];
    if (Array.isArray(v)) return v.flatMap(fromJson);
    if (v && typeof v === 'object' && typeof (v as { jws?: unknown }).jws === 'string') return [(v as { jws: string }).jws];
    return [];
  };
  try {
    return fromJson(JSON.parse(text));
  } catch {
    return text.match(/\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g) ?? [];
  }
}

export const auditVerify: Command = {
  name: 'audit verify',
  summary: 'recompute the whole audit chain; non-zero naming the first bad seq',
  help: `Usage: cli audit verify [--checkpoint FILE] [--json]

Recomputes every entry's hash, the chain links and the Merkle root, and checks them against the signed
checkpoints stored in the database and, with --checkpoint, those in FILE (kept outside the database:
the output of \`audit checkpoint\`, one or many). Also reports an entry appended more than once and a permit
status change without its audit entry. Exits 0 when intact, 1 naming the first bad seq.`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, { checkpoint: { type: 'string' } });
    let fileCheckpoints: string[] = [];
    if (o.checkpoint) {
      let text: string;
      try {
        text = readFileSync(o.checkpoint, 'utf8');
      } catch (err) {
        throw new CliError(`--checkpoint: cannot read ${o.checkpoint}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      fileCheckpoints = parseCheckpointFile(text);
      if (fileCheckpoints.length === 0) throw new CliError(`--checkpoint: ${o.checkpoint} holds no signed checkpoint`);
    }
    const cfg = config();
    const result = await withDatabase(cfg, async ({ db }) => {
      const keys = await checkpointKeys(db, cfg);
      if (fileCheckpoints.length && keys.length === 0)
        throw new CliError('no signing keys are known, so the checkpoints cannot be verified');
      return verifyAuditTrail(db, {
        checkpoints: fileCheckpoints,
        ...(keys.length ? { publicKeys: { keys } } : {}),
      });
    });
    await out.result(result, () =>
      result.ok
        ? `Audit chain intact: ${result.size} entries, head ${result.headHash}, Merkle root ${result.rootHash}, ${result.checkpointsMatched} signed checkpoint(s) matched.`
        : `AUDIT CHAIN BROKEN${result.firstBadSeq !== undefined ? ` at seq ${result.firstBadSeq}` : ''}: ${result.reason}\n(${result.size} entries verified before it)`,
    );
    if (!result.ok && out.json)
      out.note(`audit chain broken${result.firstBadSeq !== undefined ? ` at seq ${result.firstBadSeq}` : ''}: ${result.reason}`);
    return result.ok ? ExitCode.OK : ExitCode.FAILED;
  },
};

export const auditCheckpoint: Command = {
  name: 'audit checkpoint',
  summary: 'verify the log, then print a signed checkpoint to keep outside the database',
  help: `Usage: cli audit checkpoint [--note] [--json]

Verifies the chain, then signs (size, head hash, Merkle root, time) with the issuer's key, stores the
checkpoint and prints it. Keep the output outside the database (append it to a file, e.g.
\`cli audit checkpoint >> checkpoints.txt\`) and pass that file to \`audit verify --checkpoint\`.
With --note, prints the C2SP checkpoint note GET /audit/checkpoint then serves instead (for
\`audit consistency\`). Refuses (exit 1) to sign a chain that does not verify.`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, { note: { type: 'boolean', default: false } });
    const cfg = config();
    const taken = await withDatabase(cfg, async ({ db }) => {
      const key = await existingSigningKey(cfg);
      if (!key) throw new CliError('no signing key yet: start the server once (it creates one), or run `cli keys rotate`');
      const keys = await checkpointKeys(db, cfg);
      let cp: Awaited<ReturnType<typeof takeCheckpoint>>;
      try {
        cp = await takeCheckpoint(db, { key: key.privateKey, kid: key.kid }, { publicKeys: { keys } });
      } catch (err) {
        throw new CliError(`checkpoint refused: ${(err as Error).message}`);
      }
      return o.note ? { ...cp, note: await checkpointNote(db, cfg) } : cp;
    });
    const s = taken.statement;
    if ('note' in taken) {
      await out.result(taken, () => taken.note);
      return ExitCode.OK;
    }
    await out.result(taken, () =>
      [`# audit checkpoint size=${s.size} time=${s.time}`, `# head=${s.headHash} root=${s.rootHash}`, taken.jws].join('\n'),
    );
    return ExitCode.OK;
  },
};

/** `2026-01-31` (UTC midnight) or ISO 8601 with an explicit offset, as the API's DateTime. */
function parseTime(value: string, flag: string): Date {
  const ok = /^\d{4}-\d{2}-\d{2}$/.test(value) || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (!ok || Number.isNaN(d.getTime()))
    throw usageError(`${flag}: "${value}" is not a date (YYYY-MM-DD) or an ISO 8601 time with an offset`);
  return d;
}

const EXPORT_FORMATS = ['jsonl', 'csv'] as const;
const EXPORT_PAGE = 1000;

export const auditExport: Command = {
  name: 'audit export',
  summary: 'audit entries of a time range (jsonl or csv), personal data removed',
  help: `Usage: cli audit export --from TIME --to TIME [--format jsonl|csv]

Writes the audit entries created in [from, to) to stdout in seq order, with seq, created_at, prev_hash and
hash so they can be checked against the chain. TIME is YYYY-MM-DD (UTC) or ISO 8601 with an offset.
Entries are redacted when they are written to the log; the export redacts them again as a second net.
  --format jsonl  one JSON object per line (default)
  --format csv    columns seq,created_at,prev_hash,hash,entry (entry as canonical JSON)`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, { from: { type: 'string' }, to: { type: 'string' }, format: { type: 'string', default: 'jsonl' } });
    const from = parseTime(required(o.from, '--from'), '--from');
    const to = parseTime(required(o.to, '--to'), '--to');
    if (to <= from) throw usageError('--to must be later than --from');
    const format = o.format ?? 'jsonl';
    if (!(EXPORT_FORMATS as readonly string[]).includes(format))
      throw usageError(`--format: must be one of ${EXPORT_FORMATS.join(', ')}, not "${format}"`);
    // CALL-SITE: src/audit has no export function yet (it has append, verify, checkpoint, redact). Until one
    // lands, the entries are read here with the table's own columns; switch to it when it does.
    const count = await withDatabase(config(), async ({ db }) => {
      let n = 0;
      let afterSeq = 0;
      if (format === 'csv') await out.write('seq,created_at,prev_hash,hash,entry\r\n');
      for (;;) {
        const rows = await db
          .select()
          .from(auditEntries)
          .where(and(gte(auditEntries.createdAt, from), lt(auditEntries.createdAt, to), gt(auditEntries.seq, afterSeq)))
          .orderBy(asc(auditEntries.seq))
          .limit(EXPORT_PAGE);
        let chunk = '';
        for (const r of rows) {
          const entry = redactVariables(r.entry);
          const createdAt = r.createdAt.toISOString();
          chunk +=
            format === 'csv'
              ? `${[r.seq, createdAt, r.prevHash, r.hash, canonicalJson(entry)].map(csvCell).join(',')}\r\n`
              : `${JSON.stringify({ seq: r.seq, createdAt, prevHash: r.prevHash, hash: r.hash, entry })}\n`;
        }
        await out.write(chunk);
        n += rows.length;
        const last = rows.at(-1);
        if (rows.length < EXPORT_PAGE || !last) return n;
        afterSeq = last.seq;
      }
    });
    out.note(`exported ${count} audit entries`);
    return ExitCode.OK;
  },
};
