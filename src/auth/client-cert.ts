/**
 * The client certificate forwarded by the trusted TLS-terminating proxy (see deploy/nginx/).
 *
 * Bun.serve cannot show a verified client certificate to the handler, so nginx verifies it against the city CA
 * and forwards the leaf as `X-Client-Cert: $ssl_client_escaped_cert` (URL-encoded PEM). The header is believed
 * only when the TCP peer is a trusted proxy; from anyone else it is ignored (the caller logs that).
 * The result is the RFC 8705 §3.1 `x5t#S256` thumbprint that a certificate-bound token's `cnf` must match.
 * Nothing else about the certificate (serial, subject: possibly personal data) leaves this module.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { TrustedProxyMatcher } from './trusted-proxy.ts';

export const CLIENT_CERT_HEADER = 'x-client-cert';

/** A PEM leaf certificate is ~1-3 KB; escaped, ~1.5x. Anything far larger is not what nginx sends. */
const MAX_HEADER_LENGTH = 16 * 1024;

export type ForwardedClientCert =
  /** A well-formed certificate from a trusted proxy. */
  | { thumbprint: string }
  /** The header came from a peer not in TRUSTED_PROXIES: not believed; log it (without the value). */
  | { ignored: true; reason: 'untrusted_peer' }
  /** A trusted proxy sent something that is not exactly one certificate: treat as "no certificate" and log `reason`. */
  | { invalid: true; reason: string };

/** base64url(SHA-256(DER)) of a certificate given as PEM text or DER bytes: RFC 8705 `x5t#S256`. */
export function certThumbprint(pemOrDer: string | Uint8Array): string {
  // Parsing (rather than hashing the input bytes) guarantees the value is a certificate and that PEM text
  // with other line endings or surrounding whitespace hashes to the same DER.
  const cert = new X509Certificate(typeof pemOrDer === 'string' ? pemOrDer : Buffer.from(pemOrDer));
  return createHash('sha256').update(cert.raw).digest('base64url');
}

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';

function parseEscapedPem(value: string): { thumbprint: string } | { invalid: true; reason: string } {
  if (value.length > MAX_HEADER_LENGTH) return { invalid: true, reason: 'header_too_large' };
  let pem: string;
  try {
    // decodeURIComponent, not URLSearchParams: '+' is a base64 character, never a space here.
    pem = decodeURIComponent(value);
  } catch {
    return { invalid: true, reason: 'bad_url_encoding' };
  }
  // Tolerate the deprecated $ssl_client_cert form (continuation lines indented with a tab).
  pem = pem.replace(/\r?\n[\t ]+/g, '\n').trim();
  const begins = pem.split(PEM_BEGIN).length - 1;
  if (begins !== 1 || !pem.startsWith(PEM_BEGIN) || !pem.endsWith('-----END CERTIFICATE-----')) {
    return { invalid: true, reason: begins > 1 ? 'more_than_one_certificate' : 'not_a_pem_certificate' };
  }
  try {
    return { thumbprint: certThumbprint(pem) };
  } catch {
    return { invalid: true, reason: 'unparseable_certificate' };
  }
}

/**
 * Reads `X-Client-Cert` from `request`.
 * - no header (or an empty one: nginx sends nothing when no certificate was presented) → `null`
 * - header from a peer that `isTrusted` rejects → `{ ignored: true }`
 * - header from a trusted proxy that is not one parseable certificate → `{ invalid: true, reason }`
 * - otherwise → `{ thumbprint }`
 * Callers treat every result without `thumbprint` as "no client certificate".
 */
export function readForwardedClientCert(
  request: Request,
  peerAddress: string | null | undefined,
  isTrusted: TrustedProxyMatcher,
): ForwardedClientCert | null {
  const value = request.headers.get(CLIENT_CERT_HEADER);
  if (value === null || value.trim() === '') return null;
  if (!isTrusted(peerAddress)) return { ignored: true, reason: 'untrusted_peer' };
  return parseEscapedPem(value.trim());
}
