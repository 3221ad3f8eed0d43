import { beforeAll, describe, expect, test } from 'bun:test';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import {
  CHECKPOINT_TYP,
  CheckpointVerificationError,
  signCheckpoint,
  verifyCheckpoint,
  type CheckpointStatement,
} from '../../src/audit/checkpoint.ts';
import { GENESIS_HASH } from '../../src/audit/hash-chain.ts';

const statement: CheckpointStatement = {
  size: 42,
  headHash: 'a'.repeat(64),
  rootHash: 'b'.repeat(64),
  time: '2026-11-25T12:00:00.000Z',
};

let privateKey: CryptoKey;
let publicJwk: JWK;
let otherPublicJwk: JWK;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'audit-1', alg: 'ES256', use: 'sig' };
  const other = await generateKeyPair('ES256', { extractable: true });
  otherPublicJwk = { ...(await exportJWK(other.publicKey)), kid: 'audit-0', alg: 'ES256', use: 'sig' };
});

const flip = (s: string) => `${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`;

describe('signed checkpoints', () => {
  test('a checkpoint signed with ES256 verifies against the public JWK and returns its statement', async () => {
    const jws = await signCheckpoint(statement, { key: privateKey, kid: 'audit-1' });
    expect(jws.split('.')).toHaveLength(3);
    const header = JSON.parse(Buffer.from(jws.split('.')[0] as string, 'base64url').toString());
    expect(header).toEqual({ alg: 'ES256', kid: 'audit-1', typ: CHECKPOINT_TYP });
    expect(await verifyCheckpoint(jws, publicJwk)).toEqual(statement);
  });

  test('a checkpoint verifies against a JWKS holding several keys, chosen by kid', async () => {
    const jws = await signCheckpoint(statement, { key: privateKey, kid: 'audit-1' });
    expect(await verifyCheckpoint(jws, { keys: [otherPublicJwk, publicJwk] })).toEqual(statement);
  });

  test('an empty log can be checkpointed', async () => {
    const empty = { ...statement, size: 0, headHash: GENESIS_HASH };
    const jws = await signCheckpoint(empty, { key: privateKey, kid: 'audit-1' });
    expect((await verifyCheckpoint(jws, publicJwk)).size).toBe(0);
  });

  test('a tampered signature fails', async () => {
    const jws = await signCheckpoint(statement, { key: privateKey, kid: 'audit-1' });
    await expect(verifyCheckpoint(flip(jws), publicJwk)).rejects.toBeInstanceOf(CheckpointVerificationError);
  });

  test('a tampered payload fails', async () => {
    const jws = await signCheckpoint(statement, { key: privateKey, kid: 'audit-1' });
    const [h, , s] = jws.split('.');
    const forged = Buffer.from(JSON.stringify({ ...statement, size: 41 })).toString('base64url');
    await expect(verifyCheckpoint(`${h}.${forged}.${s}`, publicJwk)).rejects.toBeInstanceOf(CheckpointVerificationError);
  });

  test('a checkpoint signed by another key or not listed in the JWKS fails', async () => {
    const jws = await signCheckpoint(statement, { key: privateKey, kid: 'audit-1' });
    await expect(verifyCheckpoint(jws, otherPublicJwk)).rejects.toBeInstanceOf(CheckpointVerificationError);
    await expect(verifyCheckpoint(jws, { keys: [otherPublicJwk] })).rejects.toBeInstanceOf(CheckpointVerificationError);
  });

  test('a malformed statement is refused before signing', async () => {
    await expect(signCheckpoint({ ...statement, headHash: 'nope' }, { key: privateKey, kid: 'audit-1' })).rejects.toThrow();
    await expect(signCheckpoint({ ...statement, size: -1 }, { key: privateKey, kid: 'audit-1' })).rejects.toThrow();
  });
});
