/**
 * The log's public face: the latest checkpoint as a C2SP signed note with its stored witness cosignatures, the
 * C2SP tlog-tiles hash tiles of that tree, consistency proofs between sizes, and offline entry proofs. Served at
 * GET /audit/checkpoint, /audit/verifier-key and /audit/tile/…, GraphQL and the CLI.
 *
 * Why it signs from the stored ES256 checkpoints: those were only taken over a chain that verified
 * (take-checkpoint.ts), so the note vouches for nothing the JWS did not; each row's JWS is checked before use so
 * a row written straight into the database is not published. Ed25519 signatures are deterministic, so every
 * instance publishes the same note for the same tree; notes are kept per tree in memory.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { rowsOf } from '../../db/rows.ts';
import { CheckpointVerificationError, verifyCheckpoint, type CheckpointPublicKeys } from '../checkpoint.ts';
import { inclusionPath, merkleTreeHash } from '../merkle.ts';
import { signCheckpointNote, type TreeHead } from './checkpoint-note.ts';
import { addCosignatures, verifiedCosignatures } from './cosignature.ts';
import { createCosignatureCollector, type WitnessEndpoint } from './cosignature-collector.ts';
import { createCosignatureStore, witnessId } from './cosignature-store.ts';
import { consistencyPath } from './consistency.ts';
import { createTileHasher, leavesNeeded, type TileCoordinate } from './hash-tiles.ts';
import { loadEntry, loadLeafHashes, loadLeafRange } from './leaf-hashes.ts';
import { activeVerifierKey, type LogKeys } from './log-key.ts';
import { NoteError } from './signed-note.ts';
import { entryExtra, formatTlogProof } from './tlog-proof.ts';

export class ProofRequestError extends Error {
  override name = 'ProofRequestError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface TransparencyLogDeps {
  db: Executor;
  keys: LogKeys;
  origin: string;
  /** ES256 keys of the stored checkpoints (current and retired). */
  checkpointKeys: () => Promise<CheckpointPublicKeys>;
  /** Witnesses asked to cosign each new checkpoint (AUDIT_WITNESSES). @default none */
  witnesses?: readonly WitnessEndpoint[];
  onWitnessError?: (witness: WitnessEndpoint, message: string) => void;
  fetch?: typeof fetch;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A row of audit_checkpoints as read here; nothing in it is believed before its JWS verifies. */
interface StoredCheckpointRow {
  size: string;
  root_hash: string;
  signature: string;
}

export function createTransparencyLog(d: TransparencyLogDeps) {
  const notes = new Map<string, string>();
  // the checkpoint endpoint is public: each stored JWS is verified once, not on every request
  const verified = new Map<string, boolean>();
  const store = createCosignatureStore(d.db);
  const witnessKeys = (d.witnesses ?? []).map((w) => w.key);
  // a stored line is published only once it verified over the note of its tree (lines are immutable per tree)
  const verifiedLines = new Map<string, string>();
  /** The witness (`name+keyid`) whose valid cosignature `note` carries, or null. */
  const cosigner = (note: string): string | null => {
    try {
      const [found] = verifiedCosignatures(note, witnessKeys);
      return found ? witnessId(found.witness) : null;
    } catch (err) {
      // a malformed line (the table is not ours alone) is left out, not a failure of the checkpoint
      if (err instanceof NoteError) return null;
      throw err;
    }
  };
  const tiles = createTileHasher((start, count) => loadLeafRange(d.db, start, count));
  const collector = d.witnesses?.length
    ? createCosignatureCollector({
        witnesses: d.witnesses,
        store,
        consistency: (from, to) => consistencyProof(from, to),
        ...(d.fetch ? { fetch: d.fetch } : {}),
        ...(d.onWitnessError ? { onError: d.onWitnessError } : {}),
      })
    : null;

  /** True when the stored row's JWS is ours and signs exactly its size and root. */
  async function rowVerifies(r: StoredCheckpointRow): Promise<boolean> {
    let ok = verified.get(r.signature);
    if (ok === undefined) {
      const keys = await d.checkpointKeys();
      try {
        const s = await verifyCheckpoint(r.signature, keys);
        ok = s.size === Number(r.size) && s.rootHash === r.root_hash;
      } catch (err) {
        // not signed by us: never published (any other failure is not remembered)
        if (!(err instanceof CheckpointVerificationError)) throw err;
        ok = false;
      }
      if (verified.size > 4096) verified.clear();
      verified.set(r.signature, ok);
    }
    return ok;
  }

  /**
   * The newest stored checkpoint whose JWS verifies; the empty tree when there is none. Pages on past rows that
   * do not verify, however many: rows written straight into the table (the app role may insert) must not make
   * the log sign an older or the empty tree in place of its latest one.
   */
  async function latestHead(): Promise<TreeHead> {
    const PAGE = 16;
    // sizes are unique (the table's key), so paging by size below the last row read skips nothing
    let below = Number.MAX_SAFE_INTEGER;
    for (;;) {
      const rows: StoredCheckpointRow[] = rowsOf<StoredCheckpointRow>(
        await d.db.execute(sql`
          select size::text as size, root_hash, signature from audit_checkpoints
          where size < ${below}::bigint order by audit_checkpoints.size desc limit ${PAGE}::int`),
      );
      for (const r of rows) {
        if (await rowVerifies(r)) return { origin: d.origin, size: Number(r.size), rootHash: r.root_hash };
      }
      if (rows.length < PAGE) return { origin: d.origin, size: 0, rootHash: hex(merkleTreeHash([])) };
      below = Number(rows[rows.length - 1]!.size);
    }
  }

  /** The log-signed note of a tree, without cosignatures. */
  function signedNote(head: TreeHead): string {
    const k = `${head.size}:${head.rootHash}`;
    let note = notes.get(k);
    if (!note) {
      note = signCheckpointNote(head, [d.keys.signer]);
      if (notes.size > 64) notes.clear();
      notes.set(k, note);
    }
    return note;
  }

  /**
   * The note with the cosignatures collected so far, by this instance or stored by any (restarts included);
   * asks the witnesses (in the background) for the rest. Only lines that verify with a key of AUDIT_WITNESSES.
   */
  async function noteFor(head: TreeHead): Promise<string> {
    const note = signedNote(head);
    if (!collector || head.size === 0) return note;
    void collector.collect(head, note);
    // one line per witness: this instance's own first, then what any instance stored
    const byWitness = new Map<string, string>();
    for (const line of [...collector.linesFor(head), ...(await store.linesFor(head))]) {
      const k = `${note}${line}`;
      let who = verifiedLines.get(k) ?? null;
      if (!who) {
        who = cosigner(k);
        if (!who) continue;
        if (verifiedLines.size > 1024) verifiedLines.clear();
        verifiedLines.set(k, who);
      }
      if (!byWitness.has(who)) byWitness.set(who, line);
    }
    return addCosignatures(note, [...byWitness.values()]);
  }

  async function consistencyProof(fromSize: number, toSize: number): Promise<string[]> {
    if (!Number.isSafeInteger(fromSize) || fromSize < 1)
      throw new ProofRequestError('fromSize', 'must be at least 1: nothing is proven from the empty tree');
    if (!Number.isSafeInteger(toSize) || toSize < fromSize) throw new ProofRequestError('toSize', 'must not be less than fromSize');
    return consistencyPath(fromSize, await leavesUpTo(toSize, 'toSize')).map(hex);
  }

  async function leavesUpTo(size: number, field: string): Promise<Uint8Array[]> {
    const leaves = await loadLeafHashes(d.db, size);
    if (!leaves) throw new ProofRequestError(field, `the log holds fewer than ${size} entries`);
    return leaves;
  }

  return {
    origin: d.origin,
    keys: d.keys,
    latestHead,
    /** The latest checkpoint as a signed note (with cosignatures, when there are any). */
    async checkpointNote(): Promise<string> {
      return noteFor(await latestHead());
    },
    /**
     * A C2SP tlog-tiles hash tile of the tree of the latest checkpoint, or null when that tree does not hold it
     * yet (what is not covered by a signed checkpoint is not published).
     */
    async hashTile(t: TileCoordinate): Promise<Uint8Array<ArrayBuffer> | null> {
      const head = await latestHead();
      if (leavesNeeded(t) > head.size) return null;
      return tiles.tile(t);
    },
    verifierKey: () => activeVerifierKey(d.keys),
    /** RFC 9162 consistency proof (hex) from the tree of `fromSize` entries to the tree of `toSize`. */
    consistencyProof,
    /** Asks the witnesses to cosign the latest checkpoint and waits for their answers (tests, the CLI). */
    async collectCosignatures(): Promise<void> {
      const head = await latestHead();
      if (collector && head.size > 0) await collector.collect(head, signedNote(head));
    },
    /** C2SP tlog-proof of entry `seq` against the latest checkpoint, with the entry as its extra data. */
    async entryProof(seq: number): Promise<string> {
      const head = await latestHead();
      if (!Number.isSafeInteger(seq) || seq < 1 || seq > head.size) {
        throw new ProofRequestError('seq', `must be within 1..${head.size}, the entries the latest checkpoint covers`);
      }
      const leaves = await leavesUpTo(head.size, 'seq');
      const entry = await loadEntry(d.db, seq);
      if (!entry) throw new ProofRequestError('seq', `entry ${seq} is missing`);
      return formatTlogProof({
        index: seq - 1,
        path: inclusionPath(seq - 1, leaves).map(hex),
        checkpoint: await noteFor(head),
        extra: entryExtra(entry),
      });
    },
  };
}

export type TransparencyLog = ReturnType<typeof createTransparencyLog>;
