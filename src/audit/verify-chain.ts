/**
 * Recomputes the audit chain and checks it against signed checkpoints, naming the first bad `seq`.
 *
 * What each check catches:
 * - `seq` must run 1, 2, 3… : a deleted entry shows up as the missing seq.
 * - `prev_hash` must equal the recomputed hash of the entry before (GENESIS_HASH for seq 1): catches
 *   deleted-and-renumbered or swapped rows, and a chain restarted from another genesis.
 * - `hash` must equal SHA-256(prev_hash ‖ canonical JSON(entry)): catches an edited entry.
 * - Every checkpoint of size N must match the recomputed head hash and Merkle root at seq N, and the log
 *   must have at least N entries: catches a chain rewritten with recomputed hashes (which the first three
 *   checks cannot see) and a cut-off tail. A rewrite can only be located between two checkpoints, so the
 *   first bad seq named is the first entry after the last checkpoint that still matches.
 * Rows are consumed one at a time with O(log n) memory, so a log of millions of entries verifies in pages.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { PLANNED_PER_CALL } from '../db/prepared-statements.ts';
import { rowsOf } from '../db/rows.ts';
import { CheckpointVerificationError, verifyCheckpoint, type CheckpointPublicKeys, type CheckpointStatement } from './checkpoint.ts';
import { GENESIS_HASH } from './hash-chain.ts';
import { MerkleAccumulator, type FrontierNode } from './merkle.ts';
import { hashOrReason, inlinePageHasher, type HashedEntry, type PageHasher } from './page-hasher.ts';

/** The columns verification needs, as stored. */
export interface AuditChainRow {
  seq: number | string | bigint;
  entry: unknown;
  prevHash: string;
  hash: string;
  /**
   * The entry's hash from its stored `prevHash`, already computed elsewhere (a page hasher); used only when that
   * `prevHash` is the one the chain expects, exactly as if it were computed here.
   */
  computedHash?: HashedEntry;
}

export interface ChainVerification {
  ok: boolean;
  /** Entries that verified (the whole log when `ok`). */
  size: number;
  /** Recomputed hash of entry `size` (GENESIS_HASH for an empty log). */
  headHash: string;
  /** Recomputed RFC 9162 Merkle root over entries 1..size. */
  rootHash: string;
  /** Checkpoints whose signature verified and which the log matched. */
  checkpointsMatched: number;
  /** The Merkle tree's right edge at `size`: where the next (incremental) verification resumes. */
  frontier: FrontierNode[];
  /** First seq that is missing, edited, out of place or rewritten. */
  firstBadSeq?: number;
  reason?: string;
}

export interface VerifyChainOptions {
  /** Signed checkpoints (compact JWS), e.g. from a file kept outside the database. */
  checkpoints?: readonly string[];
  /** Keys the checkpoints must verify against; required with `checkpoints`. */
  publicKeys?: CheckpointPublicKeys;
  /** Statements already verified by the caller. */
  trustedStatements?: readonly CheckpointStatement[];
  /**
   * Verify only the entries after a trusted point (a signed checkpoint): entry `size + 1` must continue from
   * `headHash`, and the Merkle root is extended from `frontier`. Entries up to `size` are not read.
   */
  resumeFrom?: ResumePoint;
}

export interface ResumePoint {
  size: number;
  headHash: string;
  frontier: readonly FrontierNode[];
}

interface Failure {
  firstBadSeq?: number;
  reason: string;
}

/** Incremental verifier shared by {@link verifyChain} and {@link loadAndVerify}. */
class ChainVerifier {
  #expectedSeq = 1;
  #prevHash = GENESIS_HASH;
  readonly #merkle: MerkleAccumulator;
  readonly #checkpoints: CheckpointStatement[];
  #next = 0;
  #lastMatchedSize = 0;
  #matched = 0;
  failure: Failure | undefined;

  constructor(checkpoints: readonly CheckpointStatement[], resume?: ResumePoint) {
    this.#merkle = resume ? MerkleAccumulator.fromFrontier(resume.frontier) : new MerkleAccumulator();
    if (resume) {
      if (this.#merkle.size !== resume.size) throw new TypeError('resumeFrom: the frontier does not cover `size` leaves');
      this.#expectedSeq = resume.size + 1;
      this.#prevHash = resume.headHash;
      this.#lastMatchedSize = resume.size;
    }
    const from = this.#expectedSeq - 1;
    this.#checkpoints = [...checkpoints].filter((c) => c.size >= from).sort((a, b) => a.size - b.size);
    this.#checkCheckpointsAt(from);
  }

  #fail(firstBadSeq: number | undefined, reason: string): false {
    this.failure = { firstBadSeq, reason };
    return false;
  }

  #checkCheckpointsAt(size: number): boolean {
    for (let cp = this.#checkpoints[this.#next]; cp && cp.size === size; cp = this.#checkpoints[this.#next]) {
      if (cp.headHash !== this.#prevHash || cp.rootHash !== this.#merkle.root()) {
        const what = cp.headHash !== this.#prevHash ? 'head hash' : 'Merkle root';
        const from = this.#lastMatchedSize + 1;
        return this.#fail(
          from,
          `checkpoint of ${cp.time} (size ${cp.size}) does not match the log's ${what}: entries ${from}..${cp.size} were rewritten`,
        );
      }
      this.#next += 1;
      this.#matched += 1;
      this.#lastMatchedSize = size;
    }
    return true;
  }

  /** Checks one row; false once the chain is broken (see `failure`). */
  push(row: AuditChainRow): boolean {
    if (this.failure) return false;
    const seq = Number(row.seq);
    const expected = this.#expectedSeq;
    if (seq > expected) return this.#fail(expected, `entry seq ${expected} is missing (the next entry is seq ${seq})`);
    if (seq !== expected) return this.#fail(expected, `entry seq ${seq} appears where seq ${expected} was expected`);
    if (row.prevHash !== this.#prevHash) {
      return this.#fail(
        seq,
        seq === 1
          ? 'seq 1 does not start from the genesis hash: the chain was rebuilt'
          : `prev_hash of seq ${seq} is not the hash of seq ${seq - 1}: entries were removed, inserted or reordered`,
      );
    }
    const hash = row.computedHash ?? hashOrReason(this.#prevHash, () => row.entry);
    if (typeof hash !== 'string') return this.#fail(seq, `entry seq ${seq} cannot be hashed: ${hash.error}`);
    if (hash !== row.hash) return this.#fail(seq, `entry seq ${seq} does not match its hash: it was edited`);
    this.#prevHash = hash;
    this.#merkle.push(hash);
    this.#expectedSeq += 1;
    return this.#checkCheckpointsAt(seq);
  }

  finish(extraFailure?: string): ChainVerification {
    const size = this.#expectedSeq - 1;
    const pending = this.#checkpoints[this.#next];
    if (!this.failure && pending && pending.size > size) {
      this.#fail(
        size + 1,
        `the log has ${size} entries but the checkpoint of ${pending.time} covers ${pending.size}: entries ${size + 1}..${pending.size} were removed`,
      );
    }
    const base = {
      size,
      headHash: this.#prevHash,
      rootHash: this.#merkle.root(),
      checkpointsMatched: this.#matched,
      frontier: this.#merkle.frontier(),
    };
    if (this.failure) return { ok: false, ...base, ...this.failure };
    if (extraFailure) return { ok: false, ...base, reason: extraFailure };
    return { ok: true, ...base };
  }
}

/** Verifies the signed checkpoints; invalid ones are reported, never trusted. */
async function checkpointStatements(opts: VerifyChainOptions): Promise<{ statements: CheckpointStatement[]; problem?: string }> {
  const statements = [...(opts.trustedStatements ?? [])];
  const jwss = opts.checkpoints ?? [];
  if (jwss.length === 0) return { statements };
  if (!opts.publicKeys) throw new TypeError('verifyChain: checkpoints given without publicKeys');
  const problems: string[] = [];
  for (const [i, jws] of jwss.entries()) {
    try {
      statements.push(await verifyCheckpoint(jws, opts.publicKeys));
    } catch (err) {
      if (!(err instanceof CheckpointVerificationError)) throw err;
      problems.push(`checkpoint #${i + 1}: ${err.message}`);
    }
  }
  return { statements, problem: problems.length ? problems.join('; ') : undefined };
}

/** Verifies rows given in seq order (an array or any iterable, sync or async). */
export async function verifyChain(
  rows: Iterable<AuditChainRow> | AsyncIterable<AuditChainRow>,
  opts: VerifyChainOptions = {},
): Promise<ChainVerification> {
  const { statements, problem } = await checkpointStatements(opts);
  const verifier = new ChainVerifier(statements, opts.resumeFrom);
  if (!verifier.failure) {
    for await (const row of rows) if (!verifier.push(row)) break;
  }
  return verifier.finish(problem);
}

export interface LoadAndVerifyOptions extends VerifyChainOptions {
  /** Rows fetched per query. @default 5000 */
  pageSize?: number;
  /** Also check the signed checkpoints stored in `audit_checkpoints` (needs `publicKeys`). @default true when publicKeys is set */
  storedCheckpoints?: boolean;
  /** Hashes each page's entries (e.g. in a worker thread, page-hasher.ts). @default in this thread, row by row */
  pageHasher?: PageHasher;
  /**
   * Hashes this process computed itself over the entries' canonical text when it appended them (the recorder's
   * periodic checkpoint): an entry whose seq has one is checked against it instead of being read back, parsed
   * and hashed again; every other entry is verified in full. See {@link KnownHashes}.
   */
  knownHashes?: KnownHashes;
}

/**
 * Hashes by seq, computed at append time from the entry as appended. A stored row checked against one must carry
 * exactly that hash and link to its predecessor, so a chain rewritten since (content and hashes recomputed) still
 * fails; an entry edited without its hash is not looked at here, but no longer matches the hash this checkpoint
 * signs, so a full `audit verify` names it, as before.
 */
export interface KnownHashes {
  get(seq: number): string | undefined;
}

interface StoredRow {
  seq: string;
  entry: string;
  prev_hash: string;
  hash: string;
}

/**
 * Streams `audit_entries` in pages ordered by seq and verifies them. The log is verified as it was when
 * verification started (entries appended meanwhile are left for the next run).
 */
export async function loadAndVerify(executor: Executor, opts: LoadAndVerifyOptions = {}): Promise<ChainVerification> {
  const pageSize = opts.pageSize ?? 5_000;
  const checkpoints = [...(opts.checkpoints ?? [])];
  if (opts.publicKeys && (opts.storedCheckpoints ?? true)) {
    const stored = rowsOf<{ signature: string }>(await executor.execute(sql`select signature from audit_checkpoints order by size`));
    checkpoints.push(...stored.map((r) => r.signature));
  }
  const [top] = rowsOf<{ max: string | null }>(await executor.execute(sql`select max(seq)::text as max from audit_entries`));
  const upTo = top?.max == null ? 0 : Number(top.max);

  const known = opts.knownHashes;
  /** A page read: a row with a hash known to the caller (`knownHash`) carries no entry text, the others do. */
  type PageRow = Omit<StoredRow, 'entry'> & ({ entry: string; knownHash?: undefined } | { entry: null; knownHash: string });

  /** One page in seq order; entries with a known hash are not read. */
  async function page(after: number): Promise<PageRow[]> {
    const window = sql`from audit_entries where seq > ${after}::bigint and seq <= ${upTo}::bigint order by audit_entries.seq limit ${pageSize}::int`;
    // planned per call, as the lookup below: a plan kept from when the chain was short scanned all of it per page
    const select = sql.raw(`${PLANNED_PER_CALL} select`);
    if (!known)
      return rowsOf<StoredRow>(await executor.execute(sql`${select} seq::text as seq, entry::text as entry, prev_hash, hash ${window}`));
    const links = rowsOf<Omit<StoredRow, 'entry'>>(await executor.execute(sql`${select} seq::text as seq, prev_hash, hash ${window}`));
    const withKnown = links.map((r) => ({ ...r, knownHash: known.get(Number(r.seq)) }));
    const unknown = withKnown.filter((r) => r.knownHash === undefined).map((r) => r.seq);
    const entries = new Map<string, string>();
    if (unknown.length) {
      const read = rowsOf<{ seq: string; entry: string }>(
        await executor.execute(
          sql`${select} seq::text as seq, entry::text as entry from audit_entries where seq = any(${sql.param(unknown)}::bigint[])`,
        ),
      );
      for (const r of read) entries.set(r.seq, r.entry);
    }
    return withKnown.map(
      (r): PageRow =>
        r.knownHash === undefined
          ? { ...r, knownHash: undefined, entry: entries.get(r.seq) ?? 'null' }
          : { ...r, knownHash: r.knownHash, entry: null },
    );
  }

  async function* pages(): AsyncGenerator<AuditChainRow> {
    let after = opts.resumeFrom?.size ?? 0;
    for (;;) {
      const rows = await page(after);
      const toHash = rows.filter((r): r is Extract<PageRow, { entry: string }> => r.entry !== null);
      let hashes: HashedEntry[] = [];
      if (opts.pageHasher && toHash.length) {
        const texts = toHash.map((r) => ({ prevHash: r.prev_hash, entry: r.entry }));
        hashes = await opts.pageHasher.hash(texts);
        // an answer that does not cover the page is not trusted: the page is hashed here
        if (hashes.length !== toHash.length) hashes = await inlinePageHasher.hash(texts);
      }
      let h = 0;
      for (const r of rows) {
        const link = { seq: r.seq, prevHash: r.prev_hash, hash: r.hash };
        if (r.entry === null) yield { ...link, entry: undefined, computedHash: r.knownHash };
        else if (opts.pageHasher) yield { ...link, entry: undefined, computedHash: hashes[h++] };
        else yield { ...link, entry: JSON.parse(r.entry) };
      }
      if (rows.length < pageSize) return;
      after = Number(rows.at(-1)!.seq);
    }
  }
  return verifyChain(pages(), { ...opts, checkpoints });
}
