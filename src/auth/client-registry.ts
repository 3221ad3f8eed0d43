/**
 * The OAuth client registry: argon2id secret hashes (Bun.password), role, tenant, contractor binding,
 * certificate binding, revocation, and secret rotation with an overlap during which both secrets work.
 */
import { and, eq } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { apiClients, type ApiClient } from '../db/schema/clients.ts';
import { contractors } from '../db/schema/contractors.ts';
import { jurisdictions } from '../db/schema/jurisdictions.ts';
import { badInput, conflict, forbiddenInput } from '../errors.ts';
import { isRole, ROLE_SCOPES, type Role } from './policy.ts';

export const SECRET_OVERLAP_MS = 24 * 3600_000;
const CLIENT_ID = /^[a-z0-9][a-z0-9._-]{2,63}$/;
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

export interface NewClient {
  clientId: string;
  role: string;
  jurisdiction: string;
  contractorLicense?: string | null;
  certThumbprint?: string | null;
}

/** What may be shown about a client: never a hash. */
export const publicClient = (c: ApiClient) => ({
  clientId: c.clientId,
  role: c.role,
  jurisdiction: c.jurisdictionId,
  contractor: c.contractorLicense,
  certBound: Boolean(c.certThumbprint),
  status: c.status,
  createdAt: c.createdAt.toISOString(),
});

/**
 * 32 random bytes, base64url. One secret in 64 would start with `-`, which a command line reads as an option
 * (`cli token --secret -abc…` is refused as ambiguous; CI once failed on it): such a draw is made again, which costs
 * 0.02 bits of the 256.
 */
export function newSecret(): string {
  for (;;) {
    const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
    if (!secret.startsWith('-')) return secret;
  }
}
const hashSecret = (s: string) => Bun.password.hash(s, { algorithm: 'argon2id' });

/**
 * Who manages clients: an admin (GraphQL) manages the clients of its own jurisdiction only; the operator (CLI,
 * no tenant) manages every jurisdiction's. Other tenants' clients are treated as if they did not exist.
 */
export interface ClientManager {
  jurisdiction: string;
}

export async function registerClient(db: Executor, c: NewClient, manager?: ClientManager): Promise<{ client: ApiClient; secret: string }> {
  // before any lookup, so a refusal says nothing about what exists in another jurisdiction
  if (manager && c.jurisdiction !== manager.jurisdiction) {
    throw forbiddenInput(
      'input.jurisdiction',
      `an admin registers clients of its own jurisdiction (${manager.jurisdiction}) only; ` +
        'clients of another jurisdiction are registered by an operator (`bun run cli clients create`)',
    );
  }
  if (!CLIENT_ID.test(c.clientId))
    throw badInput('input.clientId', 'must be 3-64 characters of a-z 0-9 . _ -, starting with a letter or digit');
  if (!isRole(c.role)) throw badInput('input.role', `must be one of ${Object.keys(ROLE_SCOPES).join(', ')}`);
  if (c.certThumbprint && !THUMBPRINT.test(c.certThumbprint))
    throw badInput('input.certThumbprint', 'must be a base64url SHA-256 thumbprint (43 characters)');
  const [j] = await db.select({ id: jurisdictions.id }).from(jurisdictions).where(eq(jurisdictions.id, c.jurisdiction));
  if (!j) throw badInput('input.jurisdiction', `no jurisdiction ${c.jurisdiction}`);
  if ((c.role as Role) === 'contractor') {
    if (!c.contractorLicense) throw badInput('input.contractorLicense', 'a contractor client must be bound to a contractor license');
    const [k] = await db
      .select({ id: contractors.id })
      .from(contractors)
      .where(and(eq(contractors.jurisdictionId, c.jurisdiction), eq(contractors.licenseNumber, c.contractorLicense)));
    if (!k) throw badInput('input.contractorLicense', `no contractor ${c.contractorLicense} in ${c.jurisdiction}`);
  } else if (c.contractorLicense) {
    throw badInput('input.contractorLicense', 'only contractor clients are bound to a contractor');
  }
  const [existing] = await db.select({ id: apiClients.clientId }).from(apiClients).where(eq(apiClients.clientId, c.clientId));
  if (existing) throw conflict(`client ${c.clientId} already exists`);
  const secret = newSecret();
  const [client] = await db
    .insert(apiClients)
    .values({
      clientId: c.clientId,
      secretHash: await hashSecret(secret),
      role: c.role,
      jurisdictionId: c.jurisdiction,
      contractorLicense: c.contractorLicense ?? null,
      certThumbprint: c.certThumbprint ?? null,
      createdAt: new Date(),
    })
    .returning();
  return { client: client!, secret };
}

export async function listClients(db: Executor): Promise<ApiClient[]> {
  return db.select().from(apiClients).orderBy(apiClients.clientId);
}

/** False for an unknown, already revoked, or (for a manager) another jurisdiction's client: no oracle. */
export async function revokeClient(db: Executor, clientId: string, manager?: ClientManager): Promise<boolean> {
  const rows = await db
    .update(apiClients)
    .set({ status: 'revoked', revokedAt: new Date() })
    .where(
      and(
        eq(apiClients.clientId, clientId),
        eq(apiClients.status, 'active'),
        manager ? eq(apiClients.jurisdictionId, manager.jurisdiction) : undefined,
      ),
    )
    .returning({ id: apiClients.clientId });
  return rows.length > 0;
}

/** New secret; the old one keeps working for SECRET_OVERLAP_MS so deployments can switch without downtime. */
export async function rotateClientSecret(db: Executor, clientId: string): Promise<string | null> {
  const [c] = await db
    .select()
    .from(apiClients)
    .where(and(eq(apiClients.clientId, clientId), eq(apiClients.status, 'active')));
  if (!c) return null;
  const secret = newSecret();
  await db
    .update(apiClients)
    .set({
      secretHash: await hashSecret(secret),
      previousSecretHash: c.secretHash,
      previousSecretExpiresAt: new Date(Date.now() + SECRET_OVERLAP_MS),
    })
    .where(eq(apiClients.clientId, clientId));
  return secret;
}

export async function revokedClientIds(db: Executor): Promise<string[]> {
  const rows = await db.select({ id: apiClients.clientId }).from(apiClients).where(eq(apiClients.status, 'revoked'));
  return rows.map((r) => r.id);
}

// A fixed argon2id hash: an unknown client id costs the same verify as a wrong secret (no timing oracle).
let dummyHash: Promise<string> | null = null;

/**
 * The active client when `secret` matches its current (or still-overlapping previous) secret, else null.
 * `guard` wraps the lookup only (e.g. the database circuit breaker), so the argon2 check is not timed as a query.
 */
export async function authenticateClient(
  db: Executor,
  clientId: string,
  secret: string,
  guard: <T>(query: () => Promise<T>) => Promise<T> = (query) => query(),
): Promise<ApiClient | null> {
  dummyHash ??= hashSecret(newSecret());
  // an id no client can have is not looked up (a U+0000 would make the query fail: a 500 instead of a refusal);
  // the password check below still runs, so such a request takes as long as any other failure
  const lookable = clientId.length <= 64 && !clientId.includes('\u0000');
  const [c] = lookable ? await guard(() => db.select().from(apiClients).where(eq(apiClients.clientId, clientId))) : [];
  const candidate = secret.length <= 256 ? secret : '';
  const current = await Bun.password.verify(candidate, c?.secretHash ?? (await dummyHash));
  const previous =
    !current && c?.previousSecretHash && c.previousSecretExpiresAt && c.previousSecretExpiresAt > new Date()
      ? await Bun.password.verify(candidate, c.previousSecretHash)
      : false;
  if (c?.status !== 'active' || !(current || previous)) return null;
  return c;
}
