/**
 * The one place that reads the environment. Everything else receives a typed `AppConfig`.
 * A bad value stops start-up with a message naming the variable and how to fix it.
 */
import { z } from 'zod';
import { parseVerifierKey, SIG_COSIGNATURE_V1 } from './audit/transparency/signed-note.ts';
import { createTrustedProxyMatcher } from './auth/trusted-proxy.ts';

/** Production's placeholder issuer while JWT_ISSUER is unset, which the production checks refuse by this value. */
export const DEV_ISSUER = 'http://127.0.0.1:4000';
export const DEV_AUDIENCE = 'permit-gateway';
export const DEV_AUDIT_LOG_ORIGIN = 'dev.permit-gateway.localhost/audit';

const csv = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  );

/** Comma-separated addresses or CIDRs, checked here so a typo stops start-up instead of failing a later request. */
const addressList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s) =>
      s
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean),
    )
    .superRefine((list, ctx) => {
      for (const entry of list) {
        try {
          createTrustedProxyMatcher([entry]);
        } catch {
          ctx.addIssue({ code: 'custom', message: `"${entry}" is not an IPv4/IPv6 address or CIDR` });
        }
      }
    });

/**
 * `AUDIT_WITNESSES`: entries separated by commas or newlines, each `<submission URL> <witness verifier key>`
 * (a C2SP tlog-cosignature Ed25519 key, type 0x04). Checked here so a typo stops start-up.
 */
const witnessList = z
  .string()
  .default('')
  .transform((s, ctx) =>
    s
      .split(/[,\n]/)
      .map((v) => v.trim())
      .filter(Boolean)
      .flatMap((entry) => {
        const [url, vkey, extra] = entry.split(/\s+/);
        try {
          if (!url || !vkey || extra !== undefined || !/^https?:\/\//.test(url)) throw new Error('expected "<http(s) URL> <verifier key>"');
          new URL(url);
          const key = parseVerifierKey(vkey);
          if (key.type !== SIG_COSIGNATURE_V1) throw new Error('the key is not a cosignature (type 0x04) key');
          return [{ url, key }];
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `"${entry}": ${(err as Error).message}` });
          return [];
        }
      }),
  );

const bool = z
  .enum(['true', 'false', '1', '0', ''])
  .default('')
  .transform((v) => v === 'true' || v === '1');

const envSchema = z.object({
  APP_ENV: z.enum(['development', 'test', 'production']).default('development'),
  /**
   * Read by libraries at load time, not by the app: with `production` graphql-js skips the multi-realm check in
   * every `instanceof` of its execution, a large share of a nested read's cost. Checked in production only.
   */
  NODE_ENV: z.string().optional(),
  MIMALLOC_PURGE_DELAY: z.string().optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  DATA_DIR: z.string().min(1).default('./.data'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional(),
  /** Prefix of every Redis key (status cache, rate-limit buckets): one per deployment sharing a Redis. */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/, 'letters, digits, : _ - (up to 64)')
    .default('permit-gateway:'),
  /**
   * The external base URL (OAuth metadata's issuer, token_endpoint and jwks_uri). Development and test derive it
   * from HOST/PORT; production defaults it to JWT_ISSUER (which production requires to be the public URL).
   */
  PUBLIC_URL: z
    .string()
    .url()
    .refine((v) => {
      const u = URL.parse(v);
      return !u || ((u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash && !u.username && !u.password);
    }, 'must be an http(s) URL without query, fragment or credentials, e.g. https://permits.example.gov')
    .optional(),
  /**
   * Exact `iss` of every token. @default PUBLIC_URL (in development and test derived from HOST/PORT, with the port
   * the server actually bound); unset in production is refused. Instances on different ports that share tokens (one
   * database and signing key) set one JWT_ISSUER (or one PUBLIC_URL).
   */
  JWT_ISSUER: z.string().url().optional(),
  JWT_AUDIENCE: z.string().min(1).default(DEV_AUDIENCE),
  JWKS_URL: z.string().url().optional(),
  /** PEM (PKCS#8) ES256 private key used to sign tokens in production. */
  SIGNING_KEY_PEM: z.string().optional(),
  TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(900).default(900),
  TRUSTED_PROXIES: addressList(''),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(2_097_152),
  CORS_ORIGINS: csv,
  METRICS_ALLOW: addressList('127.0.0.1,::1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `auto`: readable lines in development on a terminal, JSON lines otherwise (src/ops/pretty-log.ts). */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  PERSISTED_ONLY: bool,
  AUDIT_SINK: z.string().optional(),
  /**
   * Where the audit group commit runs on PostgreSQL: `worker` (a worker thread with its own 2 connections, off the
   * serving thread) or `inline`. PGlite always runs it inline (one in-process connection).
   */
  AUDIT_APPENDER: z.enum(['worker', 'inline']).default('worker'),
  /** Demo data size: `full` (README "Demo data") or `small` (tests). */
  SEED: z.enum(['full', 'small', 'none']).default('full'),
  /** Multiplies every role's rate-limit budget (load tests, fuzzing); `0` switches rate limiting off outside production. */
  RATE_LIMIT_SCALE: z.coerce.number().min(0).max(100_000).default(1),
  /**
   * Clients whose limits only measure (log and count what they would refuse, and serve the request), comma-separated:
   * client ids, or `role:NAME` for every client of a role. For rolling out tighter limits. The one switch for every
   * limit a client can hit: the rate limit (GraphQL and OGC), query cost, depth, aliases, directives, tokens, field
   * repeats and introspection depth (the name is older than that reach).
   */
  RATE_LIMIT_MEASURE_ONLY: csv,
  /** Allow introspection for every authenticated client (never allowed in production). */
  OPEN_INTROSPECTION: bool,
  /**
   * Origin line of the audit log's C2SP checkpoints (a schema-less URL naming this log) and the name of its note
   * key. The default is for development only.
   */
  AUDIT_LOG_ORIGIN: z
    .string()
    .regex(/^[^\s+]{1,200}$/, 'a schema-less URL without spaces or +, e.g. permits.example.gov/audit')
    .default(DEV_AUDIT_LOG_ORIGIN),
  /** The log's Ed25519 note key, `PRIVATE+KEY+<name>+<id>+<key>` (production), or a file holding it. */
  AUDIT_LOG_KEY: z.string().optional(),
  AUDIT_LOG_KEY_FILE: z.string().optional(),
  /** Verifier keys of earlier log keys, comma-separated: checkpoints they signed stay verifiable. */
  AUDIT_LOG_RETIRED_KEYS: csv,
  /** Witnesses asked to cosign each new audit checkpoint (C2SP tlog-witness add-checkpoint). */
  AUDIT_WITNESSES: witnessList,
  /** Development and tests only (production refuses it): webhook targets on loopback or private addresses, and http. */
  WEBHOOK_ALLOW_PRIVATE: bool,
  /** First webhook retry delay; each further one doubles, with jitter (tests shorten it). @default 5000 */
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(1).max(3_600_000).default(5000),
  /**
   * Per delivery attempt: connecting and reading the answer together. A claimed delivery is leased for twice this
   * (at least this + 5 s), so one left by a killed instance is sent again that much later. @default 10000
   */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** Open subscription streams per client on one instance. @default 20 */
  SUBSCRIPTIONS_PER_CLIENT: z.coerce.number().int().min(1).max(10_000).default(20),
  /** Directory of the SDL files. @default the repository's schema/ */
  SCHEMA_DIR: z.string().min(1).optional(),
});

export type AppConfig = ReturnType<typeof loadConfig>;

/** The base URL endpoints are appended to: origin and path only, without a trailing slash. */
const baseUrlOf = (url: string) => {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`.replace(/\/+$/, '');
};

/** `http://HOST:PORT`, reachable from this machine: a wildcard listen address becomes loopback, IPv6 is bracketed. */
export function derivedPublicUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env) {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const production = e.APP_ENV === 'production';
  // production keeps the development issuer as its default so the production checks can name it as unset
  const publicUrl = baseUrlOf(e.PUBLIC_URL ?? (production ? (e.JWT_ISSUER ?? DEV_ISSUER) : derivedPublicUrl(e.HOST, e.PORT)));
  const issuer = e.JWT_ISSUER ?? (production ? DEV_ISSUER : publicUrl);
  const publicUrlDerived = !e.PUBLIC_URL && !production;
  return {
    env: e.APP_ENV,
    nodeEnv: e.NODE_ENV,
    /** Read by Bun's allocator before anything runs; here only to warn when a production server lacks it. */
    allocatorPurgeDelay: e.MIMALLOC_PURGE_DELAY,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    publicUrl,
    /** The OAuth metadata's `issuer`: JWT_ISSUER when set, else PUBLIC_URL (which then is the tokens' `iss` too). */
    metadataIssuer: e.JWT_ISSUER ? issuer : publicUrl,
    /** True when PUBLIC_URL was derived from HOST/PORT (the server then reports the port it actually bound). */
    publicUrlDerived,
    /**
     * True when the issuer is that derived PUBLIC_URL (development and test without PUBLIC_URL and JWT_ISSUER): it
     * follows the port actually bound too (src/http/public-address.ts), so `jwt.issuer` is only its value before.
     */
    issuerDerived: publicUrlDerived && !e.JWT_ISSUER,
    /** PUBLIC_URL as set (production checks: with JWKS_URL, JWT_ISSUER is not ours to default it to). */
    publicUrlSet: Boolean(e.PUBLIC_URL),
    jwt: {
      issuer,
      audience: e.JWT_AUDIENCE,
      jwksUrl: e.JWKS_URL,
      signingKeyPem: e.SIGNING_KEY_PEM,
      ttlSeconds: e.TOKEN_TTL_SECONDS,
    },
    trustedProxies: e.TRUSTED_PROXIES,
    maxBodyBytes: e.MAX_BODY_BYTES,
    corsOrigins: e.CORS_ORIGINS,
    metricsAllow: e.METRICS_ALLOW,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    persistedOnly: e.PERSISTED_ONLY,
    auditSink: e.AUDIT_SINK,
    auditAppender: e.AUDIT_APPENDER,
    seed: e.SEED,
    openIntrospection: e.OPEN_INTROSPECTION,
    rateLimitScale: e.RATE_LIMIT_SCALE,
    measureOnly: {
      clients: e.RATE_LIMIT_MEASURE_ONLY.filter((x) => !x.startsWith('role:')),
      roles: e.RATE_LIMIT_MEASURE_ONLY.filter((x) => x.startsWith('role:')).map((x) => x.slice(5)),
    },
    /** The standard OpenTelemetry variables (src/ops/tracing.ts reads them; no other name configures tracing). */
    otel: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('OTEL_'))),
    schemaDir: e.SCHEMA_DIR,
    webhooks: { allowPrivate: e.WEBHOOK_ALLOW_PRIVATE, retryBaseMs: e.WEBHOOK_RETRY_BASE_MS, timeoutMs: e.WEBHOOK_TIMEOUT_MS },
    subscriptionsPerClient: e.SUBSCRIPTIONS_PER_CLIENT,
    auditLog: {
      origin: e.AUDIT_LOG_ORIGIN,
      privateKey: e.AUDIT_LOG_KEY,
      privateKeyFile: e.AUDIT_LOG_KEY_FILE,
      retiredKeys: e.AUDIT_LOG_RETIRED_KEYS,
      witnesses: e.AUDIT_WITNESSES,
    },
  };
}
