/**
 * Redaction at ingestion: personal data and secrets are replaced by "[REDACTED]" before an entry is
 * hashed and stored.
 *
 * Why at ingestion and not at export: the audit table is append-only and hash-chained, so anything that
 * reaches it can never be removed again (an open-records request or an erasure duty could not be met).
 * Two nets, because neither alone is enough:
 * - by key (case-insensitive, `-`/`_` ignored): applicant contact data, credentials, auth headers,
 *   client certificates and their serials, internal routing headers. Everything under `applicant` (or
 *   `contact`) is redacted leaf by leaf, so `applicant.name` goes while the shape of the input stays visible;
 * - by value: any string holding something that looks like a JWT, an email address or an
 *   `Authorization` credential has that part replaced, wherever it appears (free-text descriptions,
 *   JSON scalars, error messages).
 */

export const REDACTED = '[REDACTED]';
/** Nesting beyond this is cut (variables are client-controlled; a deep value must not blow the stack). */
const MAX_DEPTH = 64;

const normaliseKey = (key: string) => key.toLowerCase().replace(/[-_\s.]/g, '');

/** Keys whose whole value goes. */
const SENSITIVE_KEYS = new Set(
  [
    'email',
    'emailAddress',
    'phone',
    'phoneNumber',
    'mobile',
    'fax',
    'password',
    'passwd',
    'passphrase',
    'secret',
    'client_secret',
    'apiKey',
    'privateKey',
    'token',
    'access_token',
    'refresh_token',
    'id_token',
    'bearer',
    'authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'x-client-cert',
    'x-client-identity',
    'x-forwarded-for',
    'x-real-ip',
    'forwarded',
    'serial',
    'serialNumber',
    'certSerial',
    'certificateSerial',
  ].map(normaliseKey),
);
/** Key fragments that mark a secret or contact field whatever the prefix (`newPassword`, `contactEmail`). */
const SENSITIVE_FRAGMENTS = ['password', 'secret', 'token', 'email', 'phone', 'cookie', 'authorization', 'serial'];
/** Keys under which every leaf is personal data. */
const PERSONAL_CONTAINERS = new Set(['applicant', 'contact'].map(normaliseKey));

/** True when a value stored under `key` must be redacted entirely. */
export function isSensitiveKey(key: string): boolean {
  const k = normaliseKey(key);
  return SENSITIVE_KEYS.has(k) || SENSITIVE_FRAGMENTS.some((f) => k.includes(f));
}

// The patterns run over client-controlled text, so they must stay linear: each match may only start
// where a run of its characters starts (lookbehind), and runs are consumed atomically ((?=(x+))\1),
// so a megabyte of "eyJeyJ…" or "aaaa…@" costs one pass, not a quadratic backtrack.
const B64 = 'A-Za-z0-9_-';
const segment = (n: number) => `(?=([${B64}]*))\\${n}`;
// Three base64url segments, the first a JSON header ("eyJ" = '{"'); JWE compact has five, caught too.
const JWT_IN_TEXT = new RegExp(`(?<![${B64}])eyJ${segment(1)}\\.${segment(2)}\\.${segment(3)}(?:\\.${segment(4)}\\.${segment(5)})?`, 'g');
// A whole string of three long base64url segments (a JWT whose header does not start with eyJ).
const JWT_WHOLE = /^[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}$/;
const LOCAL = "A-Za-z0-9.!#$%&'*+/=?^_`{|}~-";
const EMAIL_IN_TEXT = new RegExp(`(?<![${LOCAL}])(?=([${LOCAL}]+))\\1@(?=([A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)+))\\2`, 'g');
const AUTH_CREDENTIAL = /\b(Bearer|Basic|DPoP)\s+[A-Za-z0-9._~+/=-]+/gi;

/** Replaces JWT-, email- and credential-looking parts of a string. */
export function redactString(value: string): string {
  if (JWT_WHOLE.test(value)) return REDACTED;
  return value
    .replace(AUTH_CREDENTIAL, (_m, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(JWT_IN_TEXT, REDACTED)
    .replace(EMAIL_IN_TEXT, REDACTED);
}

function redactAll(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactAll(v, depth + 1));
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactAll(v, depth + 1)]));
  }
  return value === null || value === undefined ? value : REDACTED;
}

function redact(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (depth > MAX_DEPTH) return '[TRUNCATED]';
  if (typeof value === 'string') return redactString(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (seen.has(value)) return '[CIRCULAR]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      const safeKey = redactString(key);
      if (PERSONAL_CONTAINERS.has(normaliseKey(key))) out[safeKey] = redactAll(v, depth + 1);
      else if (isSensitiveKey(key)) out[safeKey] = v === null || v === undefined ? v : REDACTED;
      else out[safeKey] = redact(v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * A JSON-safe deep copy of `value` (GraphQL variables, headers, any entry part) with personal data and
 * secrets replaced by "[REDACTED]". Never mutates its input.
 */
export function redactVariables(value: unknown): unknown {
  return redact(value, 0, new WeakSet());
}
