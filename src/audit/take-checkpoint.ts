/**
 * Makes, stores and returns a signed checkpoint of the whole log (CLI `audit checkpoint`, periodic job).
 *
 * Why it verifies first: a checkpoint vouches for everything before it, so signing an already damaged
 * chain would launder the damage. The caller keeps the returned JWS outside the database as well; the
 * copy stored in `audit_checkpoints` only helps as long as the database is trusted.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { jsonOf, rowsOf } from '../db/rows.ts';
import {
  signCheckpoint,
  verifyCheckpoint,
  type CheckpointPublicKeys,
  type CheckpointSigner,
  type CheckpointStatement,
} from './checkpoint.ts';
import { MerkleAccumulator, type FrontierNode } from './merkle.ts';
import type { PageHasher } from './page-hasher.ts';
import { loadAndVerify, type KnownHashes, type ResumePoint } from './verify-chain.ts';

export interface TakeCheckpointOptions {
  /** Keys for the checkpoints already stored, so the new one is only signed over a log that matches them. */
  publicKeys?: CheckpointPublicKeys;
  /** Clock (tests). @default () => new Date() */
  now?: () => Date;
  /** Verify only the entries after this trusted point (see {@link takeNextCheckpoint}). */
  resumeFrom?: ResumePoint;
  /**
   * Entries verified per page (one query, then one synchronous stretch of hashing). Small pages keep a checkpoint
   * taken inside a serving process from holding up requests. @default 5000
   */
  pageSize?: number;
  /** Hashes the entries of each page (a worker thread in a serving process). @default in this thread */
  pageHasher?: PageHasher;
  /** Hashes the caller computed when it appended entries: those entries are checked against them (verify-chain.ts). */
  knownHashes?: KnownHashes;
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
  const result = await loadAndVerify(executor, {
    ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
    ...(opts.pageHasher ? { pageHasher: opts.pageHasher } : {}),
    ...(opts.knownHashes ? { knownHashes: opts.knownHashes } : {}),
    ...(opts.publicKeys ? { publicKeys: opts.publicKeys } : {}),
    ...(opts.resumeFrom ? { resumeFrom: opts.resumeFrom, storedCheckpoints: false } : {}),
  });
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
    insert into audit_checkpoints (size, head_hash, root_hash, created_at, signature, frontier)
    values (${statement.size}::bigint, ${statement.headHash}::text, ${statement.rootHash}::text,
            ${statement.time}::text::timestamptz, ${jws}::text, ${JSON.stringify(result.frontier)}::jsonb)
    on conflict (size) do nothing`);
  return { statement, jws };
}

/**
 * The periodic checkpoint, in time proportional to what was appended since the last one: it resumes from the
 * latest stored checkpoint whose signature verifies with `publicKeys` and whose stored Merkle frontier folds to
 * that signed root. The new entries must continue from the signed head hash, and the new root is extended from
 * the frontier, never recomputed from the stored prefix, so a prefix edited since is not laundered into the new
 * checkpoint (a full `audit verify` then names it). Without such a checkpoint: a full verification.
 */
export async function takeNextCheckpoint(
  executor: Executor,
  signer: CheckpointSigner,
  opts: TakeCheckpointOptions & { publicKeys: CheckpointPublicKeys },
): Promise<TakenCheckpoint> {
  const [last] = rowsOf<{ signature: string; frontier: FrontierNode[] | string | null }>(
    await executor.execute(sql`select signature, frontier from audit_checkpoints order by size desc limit 1`),
  );
  let resumeFrom: ResumePoint | undefined;
  if (last?.frontier) {
    try {
      const signed = await verifyCheckpoint(last.signature, opts.publicKeys);
      const frontier = jsonOf<FrontierNode[]>(last.frontier);
      const merkle = MerkleAccumulator.fromFrontier(frontier);
      if (merkle.size === signed.size && merkle.root() === signed.rootHash)
        resumeFrom = { size: signed.size, headHash: signed.headHash, frontier };
    } catch {
      // not a usable starting point: verify everything
    }
  }
  return takeCheckpoint(executor, signer, { ...opts, ...(resumeFrom ? { resumeFrom } : {}) });
}
