/** Who may ask for tokens and what signs them: the OAuth clients and the built-in issuer's signing keys. */
import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { jurisdictions } from './jurisdictions.ts';

export const CLIENT_STATUSES = ['active', 'revoked'] as const;

/** OAuth clients (client credentials grant). Secrets are stored only as argon2id hashes. */
export const apiClients = pgTable(
  'api_clients',
  {
    clientId: text('client_id').primaryKey(),
    secretHash: text('secret_hash').notNull(),
    /** Previous secret, still accepted until `previousSecretExpiresAt` (rotation overlap). */
    previousSecretHash: text('previous_secret_hash'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    role: text('role').notNull(),
    jurisdictionId: text('jurisdiction_id')
      .notNull()
      .references(() => jurisdictions.id),
    /** License number of the contractor record this client acts for (role `contractor`). */
    contractorLicense: text('contractor_license'),
    /** SHA-256 thumbprint (base64url) of the client certificate the tokens are bound to (RFC 8705). */
    certThumbprint: text('cert_thumbprint'),
    status: text('status', { enum: CLIENT_STATUSES }).notNull().default('active'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('api_clients_status_idx').on(t.status)],
);
export type ApiClient = typeof apiClients.$inferSelect;

/** Token signing keys of the built-in issuer; retired keys stay published until their tokens expired. */
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  publicJwk: text('public_jwk').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  retiredAt: timestamp('retired_at', { withTimezone: true }),
});
export type SigningKey = typeof signingKeys.$inferSelect;
