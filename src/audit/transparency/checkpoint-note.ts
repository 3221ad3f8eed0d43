/**
 * C2SP tlog-checkpoint: the body `<origin>\n<tree size>\n<base64 root hash>\n` (optional extension lines after),
 * signed as a signed note by the log's Ed25519 key.
 *
 * Why next to the ES256 JWS checkpoint (checkpoint.ts): the JWS is ours alone; this body is what witnesses, Go's
 * `sumdb/tlog` and every C2SP tool read, so an outsider can check our tree with software no one here wrote.
 */
import { NoteError, openNote, signNote, type NoteSigner, type NoteVerifier, type SignedNote } from './signed-note.ts';

export interface TreeHead {
  origin: string;
  size: number;
  /** Merkle root, lowercase hex (as everywhere else in src/audit). */
  rootHash: string;
}

export interface OpenedCheckpoint extends TreeHead {
  note: SignedNote & { verifiedBy: NoteVerifier[] };
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

export function formatCheckpointBody(t: TreeHead): string {
  if (!t.origin || /[\n\r]/.test(t.origin)) throw new NoteError('origin must be one non-empty line');
  if (!/^[0-9a-f]{64}$/.test(t.rootHash)) throw new NoteError('root hash must be 64 lowercase hex characters');
  return `${t.origin}\n${t.size}\n${Buffer.from(t.rootHash, 'hex').toString('base64')}\n`;
}

/** Reads the first three lines of a checkpoint body; extension lines are allowed and ignored. */
export function parseCheckpointBody(text: string): TreeHead {
  const lines = text.split('\n');
  const [origin, size, root] = lines;
  if (!origin || size === undefined || root === undefined || lines.length < 4)
    throw new NoteError('checkpoint body needs origin, size and root lines');
  if (!DECIMAL.test(size) || !Number.isSafeInteger(Number(size))) throw new NoteError('checkpoint tree size is not a decimal number');
  const rootBytes = Buffer.from(root, 'base64');
  if (rootBytes.length !== 32 || rootBytes.toString('base64') !== root)
    throw new NoteError('checkpoint root hash is not 32 bytes of base64');
  return { origin, size: Number(size), rootHash: rootBytes.toString('hex') };
}

export function signCheckpointNote(t: TreeHead, signers: readonly NoteSigner[]): string {
  return signNote(formatCheckpointBody(t), signers);
}

/**
 * Verifies a checkpoint note with the log's keys (current and retired) and, when given, its expected origin.
 * Throws NoteError naming what is wrong.
 */
export function openCheckpoint(note: string, logKeys: readonly NoteVerifier[], origin?: string): OpenedCheckpoint {
  const opened = openNote(note, logKeys);
  const head = parseCheckpointBody(opened.text);
  if (origin !== undefined && head.origin !== origin) throw new NoteError(`checkpoint origin is "${head.origin}", expected "${origin}"`);
  return { ...head, note: opened };
}
