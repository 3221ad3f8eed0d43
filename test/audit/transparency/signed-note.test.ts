/**
 * C2SP signed-note and tlog-cosignature against published data: the key pair and signed note from Go's
 * golang.org/x/mod/sumdb/note tests (a key named PeterNeumann), key ids computed as the spec says, and the
 * refusals a verifier owes (altered text, a known key's bad signature, wrong key types, malformed notes).
 */
import { describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import {
  formatCheckpointBody,
  openCheckpoint,
  parseCheckpointBody,
  signCheckpointNote,
} from '../../../src/audit/transparency/checkpoint-note.ts';
import { addCosignatures, cosignatureLine, verifiedCosignatures } from '../../../src/audit/transparency/cosignature.ts';
import {
  formatVerifierKey,
  generateNoteKey,
  keyIdOf,
  NoteError,
  openNote,
  parsePrivateKey,
  parseVerifierKey,
  SIG_COSIGNATURE_V1,
  SIG_ED25519,
  signNote,
} from '../../../src/audit/transparency/signed-note.ts';

// Published in golang.org/x/mod/sumdb/note's tests (data only).
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

describe('signed notes interoperate with Go', () => {
  test("Go's private key gives Go's verifier key and signs Go's note byte for byte", () => {
    const signer = parsePrivateKey(GO_SKEY);
    expect(formatVerifierKey(signer)).toBe(GO_VKEY);
    expect(signNote(GO_TEXT, [signer])).toBe(GO_NOTE);
  });

  test("Go's note opens with Go's verifier key; altered or re-signed by a stranger it does not", () => {
    const v = parseVerifierKey(GO_VKEY);
    expect(openNote(GO_NOTE, [v]).text).toBe(GO_TEXT);
    expect(() => openNote(GO_NOTE.replace('answer', 'Answer'), [v])).toThrow('does not verify');
    const stranger = generateNoteKey('PeterNeumann').signer;
    expect(() => openNote(GO_NOTE, [stranger])).toThrow('not signed by any known key');
  });

  test('the key id is SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4]', () => {
    const v = parseVerifierKey(GO_VKEY);
    const expected = createHash('sha256')
      .update('PeterNeumann\n')
      .update(Buffer.from([0x01]))
      .update(v.publicKey)
      .digest()
      .readUInt32BE(0);
    expect(v.keyId).toBe(expected);
    expect(keyIdOf('PeterNeumann', SIG_ED25519, v.publicKey).toString(16)).toBe('c74f20a3');
  });

  test('malformed keys and notes are refused', () => {
    expect(() => parseVerifierKey(GO_VKEY.replace('c74f20a3', 'c74f20a4'))).toThrow(NoteError);
    expect(() => parseVerifierKey('PeterNeumann+c74f20a3')).toThrow(NoteError);
    expect(() => parseVerifierKey(GO_VKEY.replace('+AR', '+ZR'))).toThrow(NoteError);
    expect(() => parsePrivateKey(GO_VKEY)).toThrow(NoteError);
    const v = parseVerifierKey(GO_VKEY);
    for (const bad of [
      GO_TEXT,
      GO_NOTE.replace('\n\n', '\n'),
      GO_NOTE.replace('\u2014 ', '- '),
      `${GO_NOTE}trailing`,
      GO_NOTE.replace('then', 'th\u0007en'),
    ]) {
      expect(() => openNote(bad, [v])).toThrow(NoteError);
    }
    expect(() => generateNoteKey('has space')).toThrow(NoteError);
    expect(() => generateNoteKey('a+b')).toThrow(NoteError);
  });
});

describe('tlog checkpoints and cosignatures', () => {
  const log = generateNoteKey('permits.example.gov/audit').signer;
  const head = { origin: 'permits.example.gov/audit', size: 42, rootHash: 'ab'.repeat(32) };

  test('the body is origin, decimal size, base64 root', () => {
    expect(formatCheckpointBody(head)).toBe(`permits.example.gov/audit\n42\n${Buffer.alloc(32, 0xab).toString('base64')}\n`);
    expect(parseCheckpointBody(formatCheckpointBody(head))).toEqual(head);
    expect(parseCheckpointBody(`${formatCheckpointBody(head)}extension line\n`)).toEqual(head);
    expect(() => parseCheckpointBody('o\n042\nAAAA\n')).toThrow(NoteError);
    expect(() => parseCheckpointBody('o\n-1\nAAAA\n')).toThrow(NoteError);
  });

  test('a checkpoint opens for its origin only', () => {
    const note = signCheckpointNote(head, [log]);
    expect(openCheckpoint(note, [log], head.origin)).toMatchObject(head);
    expect(() => openCheckpoint(note, [log], 'other.example/log')).toThrow('origin');
  });

  test('a cosignature verifies for the checkpoint it signed, with the time it carries', () => {
    const witness = generateNoteKey('witness.example/w1', SIG_COSIGNATURE_V1).signer;
    const note = signCheckpointNote(head, [log]);
    const cosigned = addCosignatures(note, [cosignatureLine(formatCheckpointBody(head), witness, 1_700_000_000)]);
    expect(verifiedCosignatures(cosigned, [witness])).toEqual([{ witness, time: 1_700_000_000 }]);
    // the log's signature still verifies: the cosignature is just one more line
    expect(openCheckpoint(cosigned, [log]).size).toBe(42);
    // moved onto another checkpoint, or with its time changed, it does not verify
    const other = signCheckpointNote({ ...head, size: 43 }, [log]);
    const line = cosigned.slice(note.length);
    expect(verifiedCosignatures(other + line, [witness])).toEqual([]);
    const raw = Buffer.from(line.trim().split(' ')[2]!, 'base64');
    raw.writeBigUInt64BE(1_700_000_001n, 4);
    expect(verifiedCosignatures(`${note}\u2014 witness.example/w1 ${raw.toString('base64')}\n`, [witness])).toEqual([]);
    // a log (0x01) key cannot make cosignatures, nor a cosigner key sign the checkpoint
    expect(() => cosignatureLine(formatCheckpointBody(head), log, 1)).toThrow(NoteError);
    expect(() => signNote(formatCheckpointBody(head), [witness])).toThrow(NoteError);
  });
});
