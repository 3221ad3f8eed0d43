/**
 * A witness (C2SP tlog-witness semantics, pull mode): keeps the last checkpoint it verified for one log, accepts
 * a new one only when the log proves it extends that one (RFC 9162 consistency), then cosigns it
 * (tlog-cosignature v1). What it refuses is named, so an operator knows what the log did:
 *   rollback    — a smaller tree than one already seen;
 *   split view  — a different tree of a size already seen (two histories shown to different parties);
 *   fork        — a larger tree whose consistency proof fails (the history it extends was rewritten);
 *   signature   — a checkpoint not signed by the pinned log key, or for another origin.
 * State lives in one directory: the witness key, the pinned log key(s), the last verified checkpoint.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { openCheckpoint, type OpenedCheckpoint } from './checkpoint-note.ts';
import { addCosignatures, cosignatureLine } from './cosignature.ts';
import { verifyConsistencyHex } from './consistency.ts';
import { tilePath } from './hash-tiles.ts';
import {
  formatVerifierKey,
  generateNoteKey,
  NoteError,
  parsePrivateKey,
  parseVerifierKey,
  SIG_COSIGNATURE_V1,
  type NoteSigner,
  type NoteVerifier,
} from './signed-note.ts';
import { createTileNodeReader } from './tile-proofs.ts';

export type WitnessRefusalKind = 'rollback' | 'split view' | 'fork' | 'signature' | 'unavailable';

export class WitnessRefusal extends Error {
  override name = 'WitnessRefusal';
  constructor(
    readonly kind: WitnessRefusalKind,
    message: string,
  ) {
    super(`${kind}: ${message}`);
  }
}

export interface WitnessOptions {
  /** Base URL of the log (it serves /audit/checkpoint, /audit/verifier-key and /graphql). */
  logUrl: string;
  stateDir: string;
  /** The witness's key name for a new witness key. @default `<hostname>/audit-witness` */
  name?: string;
  /** Bearer token with audit:verify, for the consistency proof. */
  token?: string;
  /**
   * Where consistency proofs come from: `graphql` (auditConsistency, with `token`) or `tiles`, built from the log's
   * public C2SP tlog-tiles hash tiles (URL/audit/tile/…), no token needed. @default 'graphql'
   */
  proofs?: 'graphql' | 'tiles';
  /** Log verifier key(s) to pin; without them and without a pinned key, the served key is pinned on first use. */
  logKeys?: readonly string[];
  fetch?: typeof fetch;
  now?: () => Date;
}

export interface WitnessResult {
  /** The checkpoint with this witness's cosignature added. */
  cosigned: string;
  checkpoint: OpenedCheckpoint;
  previousSize: number | null;
  witnessKey: string;
  /** True when the log's key was pinned on this run (trust on first use). */
  pinnedNow: boolean;
}

export const defaultWitnessName = () => `${hostname().replace(/[\s+]/g, '-') || 'localhost'}/audit-witness`;

function writeAtomic(file: string, text: string, mode = 0o600): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

/** The witness's cosigning key in DIR, generated under `name` on first use. */
export function witnessKey(dir: string, name: string): NoteSigner {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'witness.key');
  if (existsSync(file)) return parsePrivateKey(readFileSync(file, 'utf8'));
  const { signer, privateKeyText } = generateNoteKey(name, SIG_COSIGNATURE_V1);
  writeAtomic(file, `${privateKeyText}\n`);
  writeAtomic(join(dir, 'witness.vkey'), `${formatVerifierKey(signer)}\n`, 0o644);
  return signer;
}

async function get(o: WitnessOptions, path: string): Promise<string> {
  const f = o.fetch ?? fetch;
  let res: Response;
  try {
    res = await f(new URL(path, o.logUrl.endsWith('/') ? o.logUrl : `${o.logUrl}/`));
  } catch (err) {
    throw new WitnessRefusal('unavailable', `cannot reach ${o.logUrl}: ${(err as Error).message}`);
  }
  if (res.status !== 200) throw new WitnessRefusal('unavailable', `${path} answered ${res.status}`);
  return res.text();
}

/** A consistency proof (hex) built from the log's public hash tiles of the tree of `toSize` (tile-proofs.ts). */
export async function consistencyFromTiles(
  o: Pick<WitnessOptions, 'logUrl' | 'fetch'>,
  fromSize: number,
  toSize: number,
): Promise<string[]> {
  const f = o.fetch ?? fetch;
  const base = o.logUrl.endsWith('/') ? o.logUrl : `${o.logUrl}/`;
  const reader = createTileNodeReader(async (t) => {
    const path = `audit/${tilePath(t)}`;
    let res: Response;
    try {
      res = await f(new URL(path, base));
    } catch (err) {
      throw new WitnessRefusal('unavailable', `cannot reach ${o.logUrl}: ${(err as Error).message}`);
    }
    if (res.status !== 200) throw new WitnessRefusal('unavailable', `${path} answered ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }, toSize);
  try {
    return (await reader.consistencyProof(fromSize)).map((h) => Buffer.from(h).toString('hex'));
  } catch (err) {
    if (err instanceof WitnessRefusal) throw err;
    throw new WitnessRefusal('unavailable', `no consistency proof from the tiles: ${(err as Error).message}`);
  }
}

/** A consistency proof from the log's GraphQL `auditConsistency` (needs a token with audit:verify). */
export async function fetchConsistency(
  o: Pick<WitnessOptions, 'logUrl' | 'token' | 'fetch'>,
  fromSize: number,
  toSize: number,
): Promise<string[]> {
  const f = o.fetch ?? fetch;
  const url = new URL('graphql', o.logUrl.endsWith('/') ? o.logUrl : `${o.logUrl}/`);
  let body: { data?: { auditConsistency?: unknown } | null; errors?: { message: string }[] };
  try {
    const res = await f(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
      body: JSON.stringify({
        query: 'query($a: Int!, $b: Int!) { auditConsistency(fromSize: $a, toSize: $b) }',
        variables: { a: fromSize, b: toSize },
      }),
    });
    body = (await res.json()) as typeof body;
  } catch (err) {
    throw new WitnessRefusal('unavailable', `consistency proof from ${url}: ${(err as Error).message}`);
  }
  const proof = body.data?.auditConsistency;
  if (!Array.isArray(proof) || !proof.every((p) => typeof p === 'string')) {
    throw new WitnessRefusal(
      'unavailable',
      `no consistency proof from size ${fromSize} to ${toSize}: ${body.errors?.[0]?.message ?? 'malformed answer'}`,
    );
  }
  return proof as string[];
}

function pinnedKeys(o: WitnessOptions, dir: string, served: () => Promise<string>): Promise<{ keys: NoteVerifier[]; pinnedNow: boolean }> {
  const file = join(dir, 'log.vkey');
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  const given = (o.logKeys ?? []).filter((k) => !lines.includes(k.trim())).map((k) => k.trim());
  return (async () => {
    let pinnedNow = false;
    if (given.length) lines.push(...given);
    else if (lines.length === 0) {
      lines.push((await served()).trim());
      pinnedNow = true;
    }
    let keys: NoteVerifier[];
    try {
      keys = lines.map(parseVerifierKey);
    } catch (err) {
      throw new WitnessRefusal('signature', `log verifier key: ${(err as Error).message}`);
    }
    writeAtomic(file, `${lines.join('\n')}\n`, 0o644);
    return { keys, pinnedNow };
  })();
}

/**
 * Throws the WitnessRefusal that `latest` earns against `previous` (the last checkpoint this witness verified);
 * `proof` is asked for only when a consistency proof is needed.
 */
export async function checkExtends(previous: OpenedCheckpoint, latest: OpenedCheckpoint, proof: () => Promise<string[]>): Promise<void> {
  if (latest.size < previous.size) {
    throw new WitnessRefusal('rollback', `the log now shows ${latest.size} entries, but this witness already saw ${previous.size}`);
  }
  if (latest.size === previous.size && latest.rootHash !== previous.rootHash) {
    throw new WitnessRefusal(
      'split view',
      `two different trees of size ${latest.size}: root ${previous.rootHash} seen before, ${latest.rootHash} now`,
    );
  }
  if (latest.size > previous.size && previous.size > 0) {
    const ok = verifyConsistencyHex({
      fromSize: previous.size,
      toSize: latest.size,
      fromRoot: previous.rootHash,
      toRoot: latest.rootHash,
      proof: await proof(),
    });
    if (!ok) {
      throw new WitnessRefusal(
        'fork',
        `the tree of size ${latest.size} does not extend the tree of size ${previous.size} this witness saw (consistency proof refused)`,
      );
    }
  }
}

/** The last checkpoint this witness verified, or null. */
export function lastVerified(dir: string, keys: readonly NoteVerifier[]): OpenedCheckpoint | null {
  const file = join(dir, 'checkpoint');
  return existsSync(file) ? openCheckpoint(readFileSync(file, 'utf8'), keys) : null;
}

/** Remembers `note` as the last verified checkpoint and returns it cosigned (also kept in DIR/cosigned). */
export function rememberAndCosign(
  dir: string,
  signer: NoteSigner,
  note: string,
  latest: OpenedCheckpoint,
  now: Date,
): { cosigned: string; line: string } {
  writeAtomic(join(dir, 'checkpoint'), note, 0o644);
  const line = cosignatureLine(latest.note.text, signer, Math.floor(now.getTime() / 1000));
  const cosigned = addCosignatures(note, [line]);
  writeAtomic(join(dir, 'cosigned'), cosigned, 0o644);
  return { cosigned, line };
}

/** One round: fetch, verify against the last checkpoint seen, remember and cosign. Throws WitnessRefusal. */
export async function witnessOnce(o: WitnessOptions): Promise<WitnessResult> {
  const dir = o.stateDir;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const signer = witnessKey(dir, o.name ?? defaultWitnessName());
  const { keys, pinnedNow } = await pinnedKeys(o, dir, () => get(o, 'audit/verifier-key'));
  const note = await get(o, 'audit/checkpoint');
  const previous = lastVerified(dir, keys);
  let latest: OpenedCheckpoint;
  try {
    latest = openCheckpoint(note, keys, previous?.origin);
  } catch (err) {
    if (err instanceof NoteError) throw new WitnessRefusal('signature', `the served checkpoint does not verify: ${err.message}`);
    throw err;
  }
  const proof = o.proofs === 'tiles' ? consistencyFromTiles : fetchConsistency;
  if (previous) await checkExtends(previous, latest, () => proof(o, previous.size, latest.size));
  const { cosigned } = rememberAndCosign(dir, signer, note, latest, o.now?.() ?? new Date());
  return { cosigned, checkpoint: latest, previousSize: previous?.size ?? null, witnessKey: formatVerifierKey(signer), pinnedNow };
}
