/**
 * Makes, stores and returns a signed checkpoint of the whole log (CLI `audit checkpoint`, periodic job).
 *
 * Why it verifies first: a checkpoint vouches for everything before it, so signing an already damaged
 * chain would launder the damage. The caller keeps the returned JWS outside the database as well; the
 * copy stored in `audit_checkpoints` only helps as long as the database is trusted.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { signCheckpoint, type CheckpointPublicKeys, type CheckpointSigner, type CheckpointStatement } from './checkpoint.ts';
import { loadAndVerify } from './verify-chain.ts';

export interface TakeCheckpointOptions {
  /** Keys for the checkpoints already stored, so the new one is only signed over a log that matches them. */
  publicKeys?: CheckpointPublicKeys;
  /** Clock (tests). @default () => new Date() */
  now?: () => Date;
}

export interface TakenCheckpoint {
  statement: CheckpointStatement;
  jws: string;
}

/** Verifies the log, signs (size, head hash, Merkle root, time) and stores it; idempotent per size. */
export async function takeCheckpoint(
  executor: Executor,
  signer: CheckpointSigner,
  opts: TakeCheckpointOptions = {},
): Promise<TakenCheckpoint> {
  const result = await loadAndVerify(executor, { publicKeys: opts.publicKeys });
  if (!result.ok) {
    throw new Error(`audit chain does not verify (first bad seq ${result.firstBadSeq ?? '?'}): ${result.reason}`);
  }
  const statement: CheckpointStatement = {
    size: result.size,
    headHash: result.headHash,
    rootHash: result.rootHash,
    time: (opts.now ?? (() => new Date()))().toISOString(),
  };
  const jws = await signCheckpoint(statement, signer);
  await executor.execute(sql`
    insert into audit_checkpoints (size, head_hash, root_hash, created_at, signature)
    values (${statement.size}::bigint, ${statement.headHash}::text, ${statement.rootHash}::text,
            ${statement.time}::text::timestamptz, ${jws}::text)
    on conflict (size) do nothing`);
  return { statement, jws };
}
