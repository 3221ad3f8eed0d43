/**
 * C2SP tlog-proof: an offline proof that one audit entry is in a signed checkpoint — a records-request recipient
 * checks it with the log's verifier key and nothing else.
 *
 * Layout: `c2sp.org/tlog-proof@v1`, `extra <base64>`, `index <n>`, the inclusion path (base64, leaf's sibling
 * first), a blank line, the checkpoint note verbatim (with any cosignatures). The `extra` data is our entry
 * (seq, time, prev hash, hash, the redacted entry as JSON): the verifier recomputes the chain hash from it, so
 * the unauthenticated extra data is only believed because its hash is the proven leaf.
 */
import { canonicalJson } from '../canonical-json.ts';
import { entryHash } from '../hash-chain.ts';
import { leafHashOfEntry, verifyInclusion } from '../merkle.ts';
import { openCheckpoint, type OpenedCheckpoint } from './checkpoint-note.ts';
import { verifiedCosignatures } from './cosignature.ts';
import type { ProvenEntry } from './leaf-hashes.ts';
import { NoteError, type NoteVerifier } from './signed-note.ts';

const HEADER = 'c2sp.org/tlog-proof@v1';

export interface TlogProof {
  index: number;
  /** Inclusion path, hex, innermost first. */
  path: string[];
  /** The checkpoint note, verbatim. */
  checkpoint: string;
  extra?: Uint8Array;
}

export function formatTlogProof(p: TlogProof): string {
  const lines = [HEADER];
  if (p.extra) lines.push(`extra ${Buffer.from(p.extra).toString('base64')}`);
  lines.push(`index ${p.index}`, ...p.path.map((h) => Buffer.from(h, 'hex').toString('base64')), '');
  return `${lines.join('\n')}\n${p.checkpoint}`;
}

export function parseTlogProof(text: string): TlogProof {
  const blank = text.indexOf('\n\n');
  if (blank < 0) throw new NoteError('tlog-proof: no blank line before the checkpoint');
  const lines = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  if (lines.shift() !== HEADER) throw new NoteError(`tlog-proof: the first line must be ${HEADER}`);
  let extra: Uint8Array | undefined;
  if (lines[0]?.startsWith('extra ')) extra = new Uint8Array(Buffer.from(lines.shift()!.slice(6), 'base64'));
  const indexLine = lines.shift() ?? '';
  if (!/^index (0|[1-9][0-9]*)$/.test(indexLine)) throw new NoteError('tlog-proof: expected "index <n>"');
  const index = Number(indexLine.slice(6));
  const path = lines.map((l) => {
    const b = Buffer.from(l, 'base64');
    if (b.length !== 32 || b.toString('base64') !== l) throw new NoteError('tlog-proof: each proof line is a base64 SHA-256 hash');
    return b.toString('hex');
  });
  if (!Number.isSafeInteger(index)) throw new NoteError('tlog-proof: index out of range');
  return { index, path, checkpoint, ...(extra ? { extra } : {}) };
}

/** The `extra` bytes of an audit entry's proof. */
export const entryExtra = (e: ProvenEntry) => new TextEncoder().encode(canonicalJson(e));

export interface VerifiedEntryProof {
  entry: ProvenEntry;
  checkpoint: OpenedCheckpoint;
  /** Witnesses (of those given) whose cosignature on the checkpoint verifies. */
  cosigners: NoteVerifier[];
}

export interface VerifyProofOptions {
  /** The log's verifier keys (current and retired). */
  logKeys: readonly NoteVerifier[];
  /** Expected checkpoint origin. */
  origin?: string;
  /** Witness keys and how many of them must have cosigned. */
  witnesses?: readonly NoteVerifier[];
  quorum?: number;
}

/** Verifies an audit entry's tlog-proof offline; throws NoteError naming the first thing that does not hold. */
export function verifyEntryProof(text: string, o: VerifyProofOptions): VerifiedEntryProof {
  const p = parseTlogProof(text);
  const checkpoint = openCheckpoint(p.checkpoint, o.logKeys, o.origin);
  if (!p.extra) throw new NoteError('tlog-proof carries no entry (extra line)');
  let e: ProvenEntry;
  try {
    e = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(p.extra)) as ProvenEntry;
  } catch {
    throw new NoteError('tlog-proof extra data is not an audit entry');
  }
  if (!e || typeof e !== 'object' || e.seq !== p.index + 1) throw new NoteError(`tlog-proof entry is not seq ${p.index + 1}`);
  let recomputed: string;
  try {
    recomputed = entryHash(e.prevHash, e.entry);
  } catch {
    throw new NoteError('tlog-proof entry has no valid prevHash');
  }
  if (recomputed !== e.hash) throw new NoteError(`entry seq ${e.seq} does not hash to ${e.hash}: it was altered`);
  const included = verifyInclusion({
    leafHash: leafHashOfEntry(e.hash),
    index: p.index,
    treeSize: checkpoint.size,
    rootHash: checkpoint.rootHash,
    proof: p.path,
  });
  if (!included) throw new NoteError(`inclusion proof of seq ${e.seq} does not lead to the checkpoint's root (size ${checkpoint.size})`);
  const cosigners = o.witnesses ? verifiedCosignatures(p.checkpoint, o.witnesses).map((c) => c.witness) : [];
  if ((o.quorum ?? 0) > cosigners.length)
    throw new NoteError(`checkpoint has ${cosigners.length} valid cosignature(s), ${o.quorum} required`);
  return { entry: e, checkpoint, cosigners };
}
