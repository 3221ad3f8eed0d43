/**
 * Signing keys of the built-in issuer (ES256). Production: `SIGNING_KEY_PEM` (PKCS#8). Development: keys
 * generated into `DATA_DIR/keys/` (mode 0600) and rotated with `cli keys rotate`. Public keys are also stored
 * in the database so every instance publishes and accepts them; retired keys stay in the JWKS until the
 * tokens they signed have expired.
 */
import { desc, eq, gt, isNull, or } from 'drizzle-orm';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type JWK } from 'jose';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Executor } from '../db/client.ts';
import { signingKeys } from '../db/schema/clients.ts';

export const SIGNING_ALG = 'ES256';
/** How long a retired key stays published: the longest token lifetime plus clock tolerance. */
export const RETIRED_KEY_GRACE_MS = (900 + 60) * 1000;

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** True when the key comes from DATA_DIR (development), false for a configured production key. */
  development: boolean;
}

async function fromPkcs8(pem: string, development: boolean): Promise<SigningKey> {
  const privateKey = await importPKCS8(pem, SIGNING_ALG, { extractable: true });
  const full = await exportJWK(privateKey);
  const publicJwk: JWK = { kty: full.kty, crv: full.crv, x: full.x, y: full.y };
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, privateKey, publicJwk: { ...publicJwk, kid, alg: SIGNING_ALG, use: 'sig' }, development };
}

const keysDir = (dataDir: string) => join(dataDir, 'keys');

/** Generates a new development key file; the newest file is the active key. */
export async function createDevKey(dataDir: string): Promise<SigningKey> {
  const dir = keysDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const pem = await exportPKCS8(privateKey);
  const key = await fromPkcs8(pem, true);
  const file = join(dir, `${Date.now().toString().padStart(15, '0')}-${key.kid}.pem`);
  writeFileSync(file, pem, { mode: 0o600 });
  chmodSync(file, 0o600);
  return key;
}

/** The active signing key: the configured PEM, else the newest development key (created when there is none). */
export async function loadSigningKey(opts: { dataDir: string; pem?: string }): Promise<SigningKey> {
  if (opts.pem) return fromPkcs8(opts.pem, false);
  const dir = keysDir(opts.dataDir);
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.pem'))
        .sort()
    : [];
  const newest = files.at(-1);
  if (!newest) return createDevKey(opts.dataDir);
  return fromPkcs8(readFileSync(join(dir, newest), 'utf8'), true);
}

/** Records the active key's public half and retires every other key (kept published for the grace period). */
export async function publishSigningKey(db: Executor, key: SigningKey, now = new Date()): Promise<void> {
  await db
    .insert(signingKeys)
    .values({ kid: key.kid, alg: SIGNING_ALG, publicJwk: JSON.stringify(key.publicJwk), createdAt: now })
    .onConflictDoUpdate({ target: signingKeys.kid, set: { retiredAt: null } });
  const others = await db.select({ kid: signingKeys.kid }).from(signingKeys).where(isNull(signingKeys.retiredAt));
  for (const o of others) {
    if (o.kid !== key.kid) await db.update(signingKeys).set({ retiredAt: now }).where(eq(signingKeys.kid, o.kid));
  }
}

/** Public keys that may still verify tokens: active ones and those retired less than the grace period ago. */
export async function publishedKeys(db: Executor, now = new Date()): Promise<JWK[]> {
  const rows = await db
    .select()
    .from(signingKeys)
    .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.retiredAt, new Date(now.getTime() - RETIRED_KEY_GRACE_MS))))
    .orderBy(desc(signingKeys.createdAt));
  return rows.map((r) => JSON.parse(r.publicJwk) as JWK);
}

/** Every public key the issuer ever used, retired ones included: old audit checkpoints stay verifiable. */
export async function allSigningKeys(db: Executor): Promise<JWK[]> {
  const rows = await db.select().from(signingKeys).orderBy(desc(signingKeys.createdAt));
  return rows.map((r) => JSON.parse(r.publicJwk) as JWK);
}
