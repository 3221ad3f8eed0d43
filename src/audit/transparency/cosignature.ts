/**
 * C2SP tlog-cosignature v1 (Ed25519): a witness's statement that, at `time`, this checkpoint is the largest
 * consistent tree it has seen for the log. Signed message: `cosignature/v1\ntime <t>\n` followed by the checkpoint
 * body; the signature line carries key id ‖ u64 big-endian timestamp ‖ Ed25519 signature.
 */
import {
  formatSignatureLine,
  NoteError,
  parseNote,
  SIG_COSIGNATURE_V1,
  signBytes,
  verifyBytes,
  type NoteSigner,
  type NoteVerifier,
} from './signed-note.ts';

function cosignedMessage(body: string, time: number): Uint8Array {
  return new TextEncoder().encode(`cosignature/v1\ntime ${time}\n${body}`);
}

/** The signature line a witness adds to a checkpoint note whose body is `body`. */
export function cosignatureLine(body: string, witness: NoteSigner, time: number): string {
  if (witness.type !== SIG_COSIGNATURE_V1) throw new NoteError('a cosignature needs a cosigner (0x04) key');
  if (!Number.isSafeInteger(time) || time < 0) throw new NoteError('cosignature time must be a POSIX timestamp');
  const sig = signBytes(witness, cosignedMessage(body, time));
  const payload = Buffer.alloc(8 + sig.length);
  payload.writeBigUInt64BE(BigInt(time), 0);
  payload.set(sig, 8);
  return formatSignatureLine({ name: witness.name, keyId: witness.keyId, signature: new Uint8Array(payload) });
}

/** Adds cosignature lines to a signed note (they go after the log's signature, as in the spec's example). */
export function addCosignatures(note: string, lines: readonly string[]): string {
  const present = new Set(note.split('\n').map((l) => `${l}\n`));
  return note + lines.filter((l) => !present.has(l)).join('');
}

/** The witnesses (of `witnesses`) whose cosignature on `note` verifies, with the time each one signed. */
export function verifiedCosignatures(note: string, witnesses: readonly NoteVerifier[]): { witness: NoteVerifier; time: number }[] {
  const parsed = parseNote(note);
  const found: { witness: NoteVerifier; time: number }[] = [];
  for (const s of parsed.signatures) {
    const w = witnesses.find((v) => v.type === SIG_COSIGNATURE_V1 && v.name === s.name && v.keyId === s.keyId);
    if (!w || s.signature.length !== 72) continue;
    const time = Buffer.from(s.signature).readBigUInt64BE(0);
    if (time > BigInt(Number.MAX_SAFE_INTEGER)) continue;
    if (verifyBytes(w, cosignedMessage(parsed.text, Number(time)), s.signature.subarray(8))) found.push({ witness: w, time: Number(time) });
  }
  return found;
}
