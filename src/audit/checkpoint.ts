/**
 * Signed audit checkpoints: an ES256 compact JWS over {size, headHash, rootHash, time}.
 *
 * Why: the hash chain alone cannot tell a rewritten log from the original, since whoever rewrites it can
 * recompute every hash. A checkpoint signed with a key the database never sees, and kept outside the
 * database, pins the first `size` entries: a later log that does not reproduce `headHash` (the chain
 * hash of entry `size`) and `rootHash` (the RFC 9162 Merkle root over entries 1..size) was rewritten or
 * cut short. Keys are injected: the identity module owns and rotates them, this module only signs and
 * verifies. A compact JWS (not a JWT) because it is a statement about the log, not a credential.
 */
import {
  CompactSign,
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  importJWK,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type KeyObject,
} from 'jose';
import { canonicalJson } from './canonical-json.ts';
import { isHexSha256 } from './hash-chain.ts';

/** `typ` header of checkpoint JWSs, so a checkpoint cannot be confused with a token signed by the same key. */
export const CHECKPOINT_TYP = 'audit-checkpoint+jws';
const ALG = 'ES256';

/** What a checkpoint asserts about the log. */
export interface CheckpointStatement {
  /** Number of entries covered: seq 1..size. */
  size: number;
  /** Chain hash of entry `size` (GENESIS_HASH for size 0). */
  headHash: string;
  /** RFC 9162 Merkle root over the chain hashes of entries 1..size. */
  rootHash: string;
  /** When the checkpoint was made, ISO 8601 UTC. */
  time: string;
}

/** The private half of an ES256 key and the `kid` under which its public half is published. */
export interface CheckpointSigner {
  key: CryptoKey | KeyObject | JWK;
  kid: string;
}

/** Public keys to verify with: one JWK or a JWKS (several while keys rotate). */
export type CheckpointPublicKeys = JWK | JSONWebKeySet;

export class CheckpointVerificationError extends Error {
  override name = 'CheckpointVerificationError';
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** Validates and normalises a decoded statement; throws {@link CheckpointVerificationError} when malformed. */
export function parseCheckpointStatement(value: unknown): CheckpointStatement {
  const v = value as Partial<Record<keyof CheckpointStatement, unknown>> | null;
  if (
    !v ||
    typeof v !== 'object' ||
    !Number.isSafeInteger(v.size) ||
    (v.size as number) < 0 ||
    !isHexSha256(v.headHash) ||
    !isHexSha256(v.rootHash) ||
    typeof v.time !== 'string' ||
    !ISO_UTC.test(v.time)
  ) {
    throw new CheckpointVerificationError('checkpoint statement is malformed');
  }
  return { size: v.size as number, headHash: v.headHash, rootHash: v.rootHash, time: v.time };
}

/** Signs a statement; the payload is its RFC 8785 canonical JSON so it reads the same everywhere. */
export async function signCheckpoint(statement: CheckpointStatement, signer: CheckpointSigner): Promise<string> {
  const s = parseCheckpointStatement(statement);
  const payload = new TextEncoder().encode(canonicalJson(s));
  return new CompactSign(payload).setProtectedHeader({ alg: ALG, kid: signer.kid, typ: CHECKPOINT_TYP }).sign(signer.key);
}

function publicOnly(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

/**
 * Verifies a checkpoint JWS (ES256 only, our `typ` only) and returns its statement.
 * Throws {@link CheckpointVerificationError} for a bad signature, unknown key, wrong algorithm or malformed payload.
 */
export async function verifyCheckpoint(jws: string, keys: CheckpointPublicKeys): Promise<CheckpointStatement> {
  let payload: Uint8Array;
  try {
    const header = decodeProtectedHeader(jws);
    if (header.typ !== CHECKPOINT_TYP) throw new CheckpointVerificationError(`checkpoint typ is ${String(header.typ)}`);
    if ('keys' in keys && Array.isArray(keys.keys)) {
      const jwks = createLocalJWKSet({ keys: keys.keys.map(publicOnly) });
      ({ payload } = await compactVerify(jws, jwks, { algorithms: [ALG] }));
    } else {
      const key = await importJWK(publicOnly(keys as JWK), ALG);
      ({ payload } = await compactVerify(jws, key, { algorithms: [ALG] }));
    }
  } catch (err) {
    if (err instanceof CheckpointVerificationError) throw err;
    throw new CheckpointVerificationError(`checkpoint signature does not verify: ${(err as Error).message}`);
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw new CheckpointVerificationError('checkpoint payload is not JSON');
  }
  return parseCheckpointStatement(decoded);
}
