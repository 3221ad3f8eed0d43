/**
 * The audit hash chain: `hash = SHA-256(prev_hash ‖ canonical JSON(entry))`, hex encoded.
 *
 * Why this exact form: each entry commits to everything before it, so editing, removing or
 * reordering any entry changes every later hash. `prev_hash` enters as its 64-character lowercase hex
 * text (not raw bytes) so an auditor can reproduce a hash with nothing more than
 * `printf '%s%s' "$prev" "$json" | sha256sum`.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

/** `prev_hash` of the first entry (seq 1): 64 zeros. A chain starting anywhere else was rebuilt. */
export const GENESIS_HASH = '0'.repeat(64);

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** True for a lowercase hex SHA-256 digest, the only form hashes are stored and compared in. */
export function isHexSha256(value: unknown): value is string {
  return typeof value === 'string' && HEX_SHA256.test(value);
}

/** Hash of one entry given its predecessor's hash (or {@link GENESIS_HASH} for seq 1). */
export function entryHash(prevHash: string, entry: unknown): string {
  return hashOfCanonical(prevHash, canonicalJson(entry));
}

/** {@link entryHash} of an entry whose canonical JSON text the caller already has. */
export function hashOfCanonical(prevHash: string, canonicalText: string): string {
  if (!isHexSha256(prevHash)) throw new TypeError('entryHash: prevHash must be 64 lowercase hex characters');
  return createHash('sha256').update(prevHash, 'utf8').update(canonicalText, 'utf8').digest('hex');
}
