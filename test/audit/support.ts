/** Shared fixtures for the audit tests: a signing key and a way to tamper as a superuser. */
import { sql } from 'drizzle-orm';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { CheckpointSigner } from '../../src/audit/checkpoint.ts';
import type { Db, Tx } from '../../src/db/client.ts';

export async function auditKeys(): Promise<{ signer: CheckpointSigner; publicJwk: JWK }> {
  const pair = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'audit-test', alg: 'ES256', use: 'sig' };
  return { signer: { key: pair.privateKey, kid: 'audit-test' }, publicJwk };
}

/**
 * Runs `fn` the way an attacker with superuser rights would: triggers off for this transaction only
 * (`session_replication_role = replica` needs superuser, which both test databases give us).
 */
export async function asSuperuserWithoutTriggers(db: Db, fn: (tx: Tx) => Promise<void>): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`set local session_replication_role = replica`);
    await fn(tx);
  });
}
