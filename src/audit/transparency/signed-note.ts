/**
 * C2SP signed-note: the text envelope of our checkpoints and cosignatures, with Ed25519 from node:crypto.
 *
 * Why this format: it is what Go's checksum database, Sigstore and the witness network speak, so a checkpoint we
 * sign opens with their tools (`golang.org/x/mod/sumdb/note`). A note is a UTF-8 text ending in a newline, a blank
 * line, then lines `— <key name> base64(key id ‖ signature)`. The key id is the first 4 bytes of
 * SHA-256(name ‖ "\n" ‖ type ‖ public key); type 0x01 is an Ed25519 log signature, 0x04 an Ed25519 cosignature.
 * Keys travel as `<name>+<hex id>+base64(type ‖ key)` (verifier) and `PRIVATE+KEY+<name>+<hex id>+base64(type ‖ seed)`.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/** Signature types of C2SP signed-note: plain Ed25519, and Ed25519 cosignatures (tlog-cosignature). */
export const SIG_ED25519 = 0x01;
export const SIG_COSIGNATURE_V1 = 0x04;
export type SignatureType = typeof SIG_ED25519 | typeof SIG_COSIGNATURE_V1;

const EM_DASH_PREFIX = '\u2014 ';
const MAX_SIGNATURES = 100;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

export class NoteError extends Error {
  override name = 'NoteError';
}

/** A public key that checks note signatures. */
export interface NoteVerifier {
  name: string;
  /** First 4 bytes of SHA-256(name ‖ "\n" ‖ type ‖ key), as an unsigned 32-bit number. */
  keyId: number;
  type: SignatureType;
  publicKey: Uint8Array;
}

/** A private key that makes note signatures. */
export interface NoteSigner extends NoteVerifier {
  privateKey: KeyObject;
}

/** One signature line of a note. */
export interface NoteSignature {
  name: string;
  keyId: number;
  /** The bytes after the 4-byte key id. */
  signature: Uint8Array;
}

export interface SignedNote {
  /** Body text including its final newline. */
  text: string;
  signatures: NoteSignature[];
}

/** True when `s` holds an ASCII control character (newline too, unless allowed). */
function hasControl(s: string, allowNewline: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && !(allowNewline && c === 0x0a)) || c === 0x7f) return true;
  }
  return false;
}

/** Key names: non-empty, no Unicode space, no `+` (it separates the parts of a key). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && !hasControl(name, false);
}

export function keyIdOf(name: string, type: SignatureType, publicKey: Uint8Array): number {
  const digest = createHash('sha256')
    .update(name, 'utf8')
    .update(new Uint8Array([0x0a, type]))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

const hex8 = (id: number) => id.toString(16).padStart(8, '0');

function ed25519Public(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

function ed25519PrivateFromSeed(seed: Uint8Array): { privateKey: KeyObject; publicKey: Uint8Array } {
  // PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410): the fixed DER header, then the seed
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed)]);
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  const x = createPublicKey(privateKey).export({ format: 'jwk' }).x as string;
  return { privateKey, publicKey: new Uint8Array(Buffer.from(x, 'base64url')) };
}

/** A new Ed25519 key under `name`; returns the signer and its private key text (keep it secret). */
export function generateNoteKey(name: string, type: SignatureType = SIG_ED25519): { signer: NoteSigner; privateKeyText: string } {
  if (!isValidKeyName(name)) throw new NoteError(`"${name}" is not a valid key name (no spaces, no +)`);
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = new Uint8Array(Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url'));
  const signer = signerFromSeed(name, type, seed);
  return { signer, privateKeyText: formatPrivateKey(name, type, seed, signer.keyId) };
}

function signerFromSeed(name: string, type: SignatureType, seed: Uint8Array): NoteSigner {
  if (seed.length !== 32) throw new NoteError('an Ed25519 private key is 32 bytes');
  const { privateKey, publicKey } = ed25519PrivateFromSeed(seed);
  return { name, type, publicKey, keyId: keyIdOf(name, type, publicKey), privateKey };
}

function formatPrivateKey(name: string, type: SignatureType, seed: Uint8Array, keyId: number): string {
  return `PRIVATE+KEY+${name}+${hex8(keyId)}+${Buffer.concat([Buffer.from([type]), Buffer.from(seed)]).toString('base64')}`;
}

function splitKey(text: string, parts: number): string[] | null {
  const p = text.trim().split('+');
  // the base64 tail may itself contain `+`: everything after the fixed parts belongs to it
  if (p.length < parts) return null;
  return [...p.slice(0, parts - 1), p.slice(parts - 1).join('+')];
}

function decodeKeyMaterial(name: string, idHex: string, b64: string): { type: SignatureType; key: Uint8Array; keyId: number } {
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex) || !B64.test(b64)) throw new NoteError('malformed key');
  const raw = Buffer.from(b64, 'base64');
  const type = raw[0];
  if ((type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1) || raw.length !== 33) throw new NoteError('unsupported key type or length');
  return { type, key: new Uint8Array(raw.subarray(1)), keyId: Number.parseInt(idHex, 16) };
}

/** Parses `PRIVATE+KEY+<name>+<hex id>+<base64>`; the id must match the key it names. */
export function parsePrivateKey(text: string): NoteSigner {
  const p = splitKey(text, 5);
  if (p?.[0] !== 'PRIVATE' || p[1] !== 'KEY') throw new NoteError('not a signed-note private key (PRIVATE+KEY+name+id+key)');
  const { type, key, keyId } = decodeKeyMaterial(p[2]!, p[3]!, p[4]!);
  const signer = signerFromSeed(p[2]!, type, key);
  if (signer.keyId !== keyId) throw new NoteError('private key id does not match the key');
  return signer;
}

/** Parses a verifier key `<name>+<hex id>+<base64>`; the id must match the key it names. */
export function parseVerifierKey(text: string): NoteVerifier {
  const p = splitKey(text, 3);
  if (!p) throw new NoteError('not a signed-note verifier key (name+id+key)');
  const { type, key, keyId } = decodeKeyMaterial(p[0]!, p[1]!, p[2]!);
  if (keyIdOf(p[0]!, type, key) !== keyId) throw new NoteError('verifier key id does not match the key');
  return { name: p[0]!, type, publicKey: key, keyId };
}

export function formatVerifierKey(v: NoteVerifier): string {
  return `${v.name}+${hex8(v.keyId)}+${Buffer.concat([Buffer.from([v.type]), Buffer.from(v.publicKey)]).toString('base64')}`;
}

/** Ed25519 signature of `message` (the signing primitive; the caller decides what the message is). */
export function signBytes(signer: NoteSigner, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, signer.privateKey));
}

export function verifyBytes(v: NoteVerifier, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    return verify(null, message, ed25519Public(v.publicKey), signature);
  } catch {
    return false;
  }
}

/** Text a note body may hold: UTF-8 without control characters other than newline, ending in one newline. */
function checkBody(text: string): void {
  if (!text.endsWith('\n') || text.includes('\n\n') || text.startsWith('\n')) throw new NoteError('malformed note body');
  if (hasControl(text, true) || text.includes('\ufffd')) throw new NoteError('malformed note body');
}

export function formatSignatureLine(s: NoteSignature): string {
  const payload = Buffer.alloc(4 + s.signature.length);
  payload.writeUInt32BE(s.keyId, 0);
  payload.set(s.signature, 4);
  return `${EM_DASH_PREFIX}${s.name} ${payload.toString('base64')}\n`;
}

/** Signs `text` (a note body) with an Ed25519 log key and returns the whole note. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkBody(text);
  const message = new TextEncoder().encode(text);
  const lines = signers.map((s) => {
    if (s.type !== SIG_ED25519) throw new NoteError('a note is signed with an Ed25519 (0x01) key; cosignatures have their own message');
    return formatSignatureLine({ name: s.name, keyId: s.keyId, signature: signBytes(s, message) });
  });
  return `${text}\n${lines.join('')}`;
}

/** Splits a note into its body and signature lines, without checking any signature. */
export function parseNote(note: string): SignedNote {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed note: no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  checkBody(text);
  if (!block.endsWith('\n')) throw new NoteError('malformed note: signatures must end in a newline');
  const signatures: NoteSignature[] = [];
  for (const line of block.slice(0, -1).split('\n')) {
    if (!line.startsWith(EM_DASH_PREFIX)) throw new NoteError('malformed note: a signature line must start with "— "');
    const [name, b64, extra] = line.slice(EM_DASH_PREFIX.length).split(' ');
    if (extra !== undefined || !name || !isValidKeyName(name) || !b64 || !B64.test(b64)) throw new NoteError('malformed signature line');
    const raw = Buffer.from(b64, 'base64');
    if (raw.length < 5) throw new NoteError('malformed signature line');
    signatures.push({ name, keyId: raw.readUInt32BE(0), signature: new Uint8Array(raw.subarray(4)) });
    if (signatures.length > MAX_SIGNATURES) throw new NoteError('too many signatures');
  }
  return { text, signatures };
}

/**
 * Opens a note: returns it when at least one signature is by a known Ed25519 key and verifies. A known key whose
 * signature does not verify refuses the note (as Go's note.Open does): a forged line is never silently skipped.
 */
export function openNote(note: string, known: readonly NoteVerifier[]): SignedNote & { verifiedBy: NoteVerifier[] } {
  const parsed = parseNote(note);
  const message = new TextEncoder().encode(parsed.text);
  const verifiedBy: NoteVerifier[] = [];
  for (const s of parsed.signatures) {
    const v = known.find((k) => k.type === SIG_ED25519 && k.name === s.name && k.keyId === s.keyId);
    if (!v) continue;
    if (!verifyBytes(v, message, s.signature)) throw new NoteError(`signature by ${s.name}+${hex8(s.keyId)} does not verify`);
    if (!verifiedBy.includes(v)) verifiedBy.push(v);
  }
  if (verifiedBy.length === 0) throw new NoteError('note is not signed by any known key');
  return { ...parsed, verifiedBy };
}
