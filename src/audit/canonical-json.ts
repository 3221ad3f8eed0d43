/**
 * Canonical JSON (RFC 8785, JSON Canonicalization Scheme) for audit entries.
 *
 * Why: an entry's hash must not depend on key order or number formatting. The entry is stored as
 * `jsonb`, which reorders keys and rewrites whitespace, so the only text anyone (we, an auditor, a
 * court's expert) can recompute the hash over is a canonical form of the value. RFC 8785 is the
 * standard one, with implementations in every language; we wrap the `canonicalize` package rather
 * than writing our own number serialiser.
 */
import canonicalize from 'canonicalize';

/**
 * The RFC 8785 canonical text of `value`.
 * Throws for values JSON cannot represent exactly (NaN, ±Infinity, lone surrogates, cycles, or a
 * top-level `undefined`/function), because hashing a lossy form would make a chain that no longer
 * verifies once read back from the database.
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('canonicalJson: value has no JSON representation');
  return text;
}

/** UTF-8 bytes of {@link canonicalJson}: what hashes are computed over. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}
