/** The hash an idempotency key's request is remembered by, so a retried submission is told apart from a different one. */
import canonicalize from 'canonicalize';

/** SHA-256 (hex) of the RFC 8785 canonical JSON of a value: tells a replay from a conflicting reuse of a key. */
export function requestHash(value: unknown): string {
  const json = canonicalize(JSON.parse(JSON.stringify(value)));
  return new Bun.CryptoHasher('sha256').update(json ?? '').digest('hex');
}
