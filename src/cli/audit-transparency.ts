/**
 * `audit consistency|proof|verify-proof|witness|log-key`: the transparency side of the audit log from a shell.
 *
 * Consistency and offline proofs are computed from the database but verified with the log's verifier key only;
 * `verify-proof` and `witness` never open a database, so an outsider can run them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { openCheckpoint, type OpenedCheckpoint } from '../audit/transparency/checkpoint-note.ts';
import { verifyConsistencyHex } from '../audit/transparency/consistency.ts';
import { LogKeyError, logKeysFromConfig, rotateDevLogKey } from '../audit/transparency/log-key.ts';
import {
  formatVerifierKey,
  generateNoteKey,
  NoteError,
  parseVerifierKey,
  SIG_ED25519,
  type NoteVerifier,
} from '../audit/transparency/signed-note.ts';
import { verifyEntryProof } from '../audit/transparency/tlog-proof.ts';
import { createTransparencyLog, ProofRequestError } from '../audit/transparency/transparency-log.ts';
import { createWitnessService } from '../audit/transparency/witness-server.ts';
import {
  consistencyFromTiles,
  defaultWitnessName,
  fetchConsistency,
  WitnessRefusal,
  witnessKey,
  witnessOnce,
} from '../audit/transparency/witness.ts';
import { allSigningKeys } from '../auth/signing-keys.ts';
import type { AppConfig } from '../config.ts';
import type { Command } from './command.ts';
import { withDatabase } from './database.ts';
import { CliError, COMMON_OPTIONS, ExitCode, required, usageError, type Output } from './io.ts';

/** Like io.ts's parseOptions, but with positional arguments (checkpoint and proof files). */
function parseWithPositionals<O extends ParseArgsOptionsConfig>(argv: string[], options: O, count: number, names: string) {
  try {
    const r = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, strict: true, allowPositionals: true });
    if (r.positionals.length !== count) throw new Error(`expected ${names}`);
    return r;
  } catch (err) {
    throw usageError((err as Error).message.replace(/^TypeError( \[[A-Z_]+\])?: /, ''));
  }
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`${what}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function verifierKeys(values: readonly string[] | undefined): NoteVerifier[] {
  return (values ?? []).map((k) => {
    try {
      return parseVerifierKey(k);
    } catch (err) {
      throw usageError(`"${k}" is not a verifier key (name+id+key): ${(err as Error).message}`);
    }
  });
}

/** --log-key values, else this deployment's own log keys (current and retired). */
function logVerifiers(given: readonly string[] | undefined, config: () => AppConfig): NoteVerifier[] {
  if (given?.length) return verifierKeys(given);
  try {
    return logKeysFromConfig(config()).verifiers;
  } catch (err) {
    if (err instanceof LogKeyError) throw new CliError(err.message);
    throw err;
  }
}

function openFile(file: string, keys: NoteVerifier[], origin?: string): OpenedCheckpoint {
  try {
    return openCheckpoint(readText(file, 'checkpoint'), keys, origin);
  } catch (err) {
    if (err instanceof NoteError) throw new CliError(`${file}: ${err.message}`);
    throw err;
  }
}

export const auditConsistency: Command = {
  name: 'audit consistency',
  summary: 'verify that checkpoint NEW extends checkpoint OLD (RFC 9162 consistency proof)',
  help: `Usage: cli audit consistency OLD NEW [--log-key VKEY]... [--log URL [--token TOKEN]] [--json]

OLD and NEW are checkpoint notes (the text of GET /audit/checkpoint, kept outside the database). Both must be
signed by the log (--log-key, else this deployment's log keys) for the same origin. The consistency proof is
computed from the database, or with --log fetched from that server (GraphQL auditConsistency with a --token
holding audit:verify, or without one built from its public hash tiles, URL/audit/tile/…; no database needed),
and checked against the two signed roots only.
Exits 0 when NEW extends OLD; 1 naming why not (rollback, split view, fork, signature).`,
  async run(argv, { out, config }) {
    const { values: o, positionals } = parseWithPositionals(
      argv,
      { 'log-key': { type: 'string', multiple: true }, log: { type: 'string' }, token: { type: 'string' } },
      2,
      'two checkpoint files: OLD NEW',
    );
    if (o.log && !o['log-key']?.length)
      throw usageError('--log needs --log-key: checkpoints are checked with a key you trust, not one the server sends');
    const keys = logVerifiers(o['log-key'], config);
    const older = openFile(positionals[0]!, keys);
    const newer = openFile(positionals[1]!, keys, older.origin);
    const fail = (why: string) => {
      throw new CliError(`NEW does not extend OLD: ${why}`);
    };
    if (newer.size < older.size) fail(`rollback: NEW has ${newer.size} entries, OLD already had ${older.size}`);
    if (newer.size === older.size && newer.rootHash !== older.rootHash) fail(`split view: two different trees of size ${newer.size}`);
    let proof: string[] = [];
    const extending = older.size > 0 && newer.size > older.size;
    if (extending && o.log) {
      try {
        // without a token, from the public hash tiles: anyone can check two checkpoints
        proof = o.token
          ? await fetchConsistency({ logUrl: o.log, token: o.token }, older.size, newer.size)
          : await consistencyFromTiles({ logUrl: o.log }, older.size, newer.size);
      } catch (err) {
        if (err instanceof WitnessRefusal) throw new CliError(`no proof from ${o.log}: ${err.message}`);
        throw err;
      }
    } else if (extending) {
      const cfg = config();
      proof = await withDatabase(cfg, async ({ db }) => {
        const log = createTransparencyLog({
          db,
          keys: logKeysFromConfig(cfg),
          origin: cfg.auditLog.origin,
          checkpointKeys: async () => ({ keys: await allSigningKeys(db) }),
        });
        try {
          return await log.consistencyProof(older.size, newer.size);
        } catch (err) {
          if (err instanceof ProofRequestError) fail(`the log cannot prove it: ${err.message}`);
          throw err;
        }
      });
    }
    if (extending) {
      const ok = verifyConsistencyHex({
        fromSize: older.size,
        toSize: newer.size,
        fromRoot: older.rootHash,
        toRoot: newer.rootHash,
        proof,
      });
      if (!ok) fail(`fork: the log's entries 1..${older.size} no longer hash to OLD's root (consistency proof refused)`);
    }
    const result = { ok: true, origin: older.origin, fromSize: older.size, toSize: newer.size, proof };
    await out.result(
      result,
      () =>
        `NEW (${newer.size} entries) extends OLD (${older.size} entries) of ${older.origin}; proof of ${proof.length} hash(es) verified.`,
    );
    return ExitCode.OK;
  },
};

export const auditProof: Command = {
  name: 'audit proof',
  summary: 'an offline inclusion proof (C2SP tlog-proof) for one entry',
  help: `Usage: cli audit proof --seq N [--out FILE]

Writes a C2SP tlog-proof of entry N against the latest published checkpoint: the checkpoint note, the index,
the inclusion path, and the entry itself (seq, time, prev hash, hash, redacted entry) as its extra data.
Anyone with the log's verifier key checks it offline: \`cli audit verify-proof FILE --log-key VKEY\`.`,
  async run(argv, { out, config }) {
    const { values: o } = parseWithPositionals(argv, { seq: { type: 'string' }, out: { type: 'string' } }, 0, 'no positional arguments');
    const seq = Number(required(o.seq, '--seq'));
    if (!Number.isSafeInteger(seq) || seq < 1) throw usageError('--seq must be a positive integer');
    const cfg = config();
    const text = await withDatabase(cfg, async ({ db }) => {
      const log = createTransparencyLog({
        db,
        keys: logKeysFromConfig(cfg),
        origin: cfg.auditLog.origin,
        checkpointKeys: async () => ({ keys: await allSigningKeys(db) }),
        witnesses: cfg.auditLog.witnesses,
        onWitnessError: (w, message) => out.note(`witness ${w.url} did not cosign: ${message}`),
      });
      try {
        // the proof carries what the witnesses of AUDIT_WITNESSES cosign now
        await log.collectCosignatures();
        return await log.entryProof(seq);
      } catch (err) {
        if (err instanceof ProofRequestError) throw new CliError(`--seq ${seq}: ${err.message}`);
        throw err;
      }
    });
    if (o.out) {
      writeFileSync(o.out, text);
      out.note(`wrote the proof of seq ${seq} to ${o.out}`);
    } else await out.write(text);
    return ExitCode.OK;
  },
};

export const auditVerifyProof: Command = {
  name: 'audit verify-proof',
  summary: 'verify a tlog-proof offline (no database)',
  help: `Usage: cli audit verify-proof FILE --log-key VKEY [--log-key VKEY]... [--origin ORIGIN] [--witness VKEY]... [--quorum N]

Checks the checkpoint's signature, that the entry hashes to its leaf, the inclusion path to the checkpoint's
root and, with --witness/--quorum, that enough witnesses cosigned. Exits 0 when it holds, 1 naming what does not.`,
  async run(argv, { out }) {
    const { values: o, positionals } = parseWithPositionals(
      argv,
      {
        'log-key': { type: 'string', multiple: true },
        origin: { type: 'string' },
        witness: { type: 'string', multiple: true },
        quorum: { type: 'string' },
      },
      1,
      'one proof file',
    );
    if (!o['log-key']?.length) throw usageError('--log-key is required (the log verifier key, from GET /audit/verifier-key)');
    const quorum = o.quorum === undefined ? 0 : Number(o.quorum);
    if (!Number.isSafeInteger(quorum) || quorum < 0) throw usageError('--quorum must be a whole number');
    try {
      const r = verifyEntryProof(readText(positionals[0]!, 'proof'), {
        logKeys: verifierKeys(o['log-key']),
        ...(o.origin ? { origin: o.origin } : {}),
        witnesses: verifierKeys(o.witness),
        quorum,
      });
      const summary = {
        ok: true,
        seq: r.entry.seq,
        hash: r.entry.hash,
        treeSize: r.checkpoint.size,
        origin: r.checkpoint.origin,
        cosigners: r.cosigners.map((c) => c.name),
        entry: r.entry.entry,
      };
      await out.result(
        summary,
        () =>
          `entry ${r.entry.seq} (${r.entry.hash}) is in ${r.checkpoint.origin} at tree size ${r.checkpoint.size}; ${r.cosigners.length} witness cosignature(s) verified.`,
      );
      return ExitCode.OK;
    } catch (err) {
      if (err instanceof NoteError) throw new CliError(`proof refused: ${err.message}`);
      throw err;
    }
  },
};

export const auditWitness: Command = {
  name: 'audit witness',
  summary: 'a witness: verify consistency with the last checkpoint seen, then cosign',
  help: `Usage: cli audit witness --log URL --state DIR [--token TOKEN | --tiles] [--log-key VKEY]... [--name NAME]
       cli audit witness --serve HOST:PORT --state DIR --log-key VKEY... [--name NAME]

Fetches URL/audit/checkpoint, checks its signature against the pinned log key (DIR/log.vkey: --log-key, or the
served key on the first run), and compares it with the last checkpoint this witness verified (DIR/checkpoint):
a smaller tree is a rollback, another tree of the same size a split view, a larger tree whose consistency proof
(GraphQL auditConsistency: --token or WITNESS_TOKEN, scope audit:verify; or, with --tiles, built from the
log's public hash tiles URL/audit/tile/…, no token) fails a fork. Then cosigns it
(C2SP tlog-cosignature, Ed25519 key in DIR/witness.key, public key in DIR/witness.vkey), stores it and prints
the cosigned checkpoint. Exits 1 naming the refusal. A new log key is never trusted silently: after the log
rotates its key, pin the new one with --log-key (earlier pinned keys are kept).
With --serve, runs the C2SP tlog-witness service instead: logs POST their checkpoints with a consistency proof
to http://HOST:PORT/add-checkpoint (the log's AUDIT_WITNESSES) and get the cosignature back; same checks and
state. Runs until interrupted.`,
  async run(argv, { out }) {
    const { values: o } = parseWithPositionals(
      argv,
      {
        log: { type: 'string' },
        state: { type: 'string' },
        token: { type: 'string' },
        tiles: { type: 'boolean' },
        'log-key': { type: 'string', multiple: true },
        name: { type: 'string' },
        serve: { type: 'string' },
      },
      0,
      'no positional arguments',
    );
    if (o.serve !== undefined) return serveWitness(o.serve, required(o.state, '--state'), verifierKeys(o['log-key']), o.name, out);
    const token = o.token ?? process.env.WITNESS_TOKEN;
    try {
      const r = await witnessOnce({
        logUrl: required(o.log, '--log'),
        stateDir: required(o.state, '--state'),
        ...(token ? { token } : {}),
        ...(o.tiles ? { proofs: 'tiles' as const } : {}),
        ...(o['log-key'] ? { logKeys: o['log-key'] } : {}),
        ...(o.name ? { name: o.name } : {}),
      });
      if (r.pinnedNow) out.note(`pinned the log key served by ${o.log} (first run: trust on first use)`);
      await out.result(
        {
          ok: true,
          origin: r.checkpoint.origin,
          size: r.checkpoint.size,
          previousSize: r.previousSize,
          witnessKey: r.witnessKey,
          cosigned: r.cosigned,
        },
        () => r.cosigned,
      );
      return ExitCode.OK;
    } catch (err) {
      if (err instanceof WitnessRefusal || err instanceof NoteError) throw new CliError(`refused: ${err.message}`);
      throw err;
    }
  },
};

/** `audit witness --serve`: the add-checkpoint service, until SIGINT or SIGTERM. */
async function serveWitness(
  listen: string,
  stateDir: string,
  logKeys: NoteVerifier[],
  name: string | undefined,
  out: Output,
): Promise<number> {
  const m = /^(.+):(\d{1,5})$/.exec(listen);
  if (!m) throw usageError('--serve takes HOST:PORT');
  if (logKeys.length === 0) throw usageError('--log-key is required with --serve: the keys of the logs this witness accepts');
  const signer = witnessKey(stateDir, name ?? defaultWitnessName());
  const service = createWitnessService({ stateDir, signer, logKeys });
  const server = Bun.serve({ hostname: m[1]!, port: Number(m[2]), fetch: (req) => service.fetch(req) });
  out.note(`witness ${formatVerifierKey(signer)} listening on http://${server.hostname}:${server.port}/add-checkpoint`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.stop();
  return ExitCode.OK;
}

export const auditLogKey: Command = {
  name: 'audit log-key',
  summary: 'generate a log key for AUDIT_LOG_KEY, or rotate the development key',
  help: `Usage: cli audit log-key generate [--name ORIGIN] | cli audit log-key rotate

generate  prints a new Ed25519 note key (PRIVATE+KEY+…) for AUDIT_LOG_KEY and its verifier key; named after
          AUDIT_LOG_ORIGIN unless --name. To rotate in production, set the new AUDIT_LOG_KEY and add the old
          verifier key to AUDIT_LOG_RETIRED_KEYS, so checkpoints it signed stay verifiable.
rotate    development: a new key in DATA_DIR/audit-log-keys; the old ones stay for verification.`,
  async run(argv, { out, config }) {
    const { values: o, positionals } = parseWithPositionals(argv, { name: { type: 'string' } }, 1, 'generate or rotate');
    const cfg = config();
    if (positionals[0] === 'generate') {
      const { signer, privateKeyText } = generateNoteKey(o.name ?? cfg.auditLog.origin, SIG_ED25519);
      const verifierKey = formatVerifierKey(signer);
      await out.result(
        { privateKey: privateKeyText, verifierKey },
        () => `AUDIT_LOG_KEY=${privateKeyText}\n# verifier key: ${verifierKey}`,
      );
      return ExitCode.OK;
    }
    if (positionals[0] === 'rotate') {
      if (cfg.auditLog.privateKey || cfg.auditLog.privateKeyFile)
        throw new CliError('AUDIT_LOG_KEY is configured: rotate by configuring a new one (see --help)');
      const signer = rotateDevLogKey(cfg.dataDir, cfg.auditLog.origin);
      await out.result({ verifierKey: formatVerifierKey(signer) }, () => `new log key: ${formatVerifierKey(signer)}`);
      return ExitCode.OK;
    }
    throw usageError(`unknown action "${positionals[0]}": generate or rotate`);
  },
};
