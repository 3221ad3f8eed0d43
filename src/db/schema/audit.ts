/**
 * The audit trail's tables, together because they are read and trusted together: the hash-chained entries, the signed
 * checkpoints over them, witnesses' cosignatures, and mutations' entries waiting for the next group commit.
 */
import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The tamper-evident audit log (README "PostgreSQL: the owner migrates, the server runs as the app role"; operators and
 * auditors read this table). `seq` is assigned under a database lock by the appender,
 * never by a sequence, so the chain has no gaps: hash = SHA-256(prev_hash ‖ canonical JSON(entry)).
 * Triggers (migration 0001) refuse UPDATE, DELETE and TRUNCATE.
 */
export const auditEntries = pgTable(
  'audit_entries',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    entry: jsonb('entry').$type<Record<string, unknown>>().notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
    /**
     * The entry's own `entryId` (given when it was recorded), derived by the database so no appender can store
     * another: the unique index turns an entry sent again (a worker that died before acknowledging) into a no-op.
     */
    entryId: text('entry_id').generatedAlwaysAs(sql`(entry ->> 'entryId')`),
  },
  (t) => [index('audit_entries_created_idx').on(t.createdAt), uniqueIndex('audit_entries_entry_id_uq').on(t.entryId)],
);
export type AuditEntryRow = typeof auditEntries.$inferSelect;

/** ES256-signed statements of (size, head hash, Merkle root, time). */
export const auditCheckpoints = pgTable('audit_checkpoints', {
  size: bigint('size', { mode: 'number' }).primaryKey(),
  headHash: text('head_hash').notNull(),
  rootHash: text('root_hash').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  /** Compact JWS over the checkpoint statement. */
  signature: text('signature').notNull(),
  /**
   * The Merkle tree's right edge at `size` (perfect subtree roots, src/audit/merkle.ts): the next checkpoint
   * verifies only the entries after this one and extends the root from here. Not signed: it is checked against
   * the signed root before use.
   */
  frontier: jsonb('frontier').$type<{ size: number; hash: string }[]>(),
});
export type AuditCheckpointRow = typeof auditCheckpoints.$inferSelect;

/**
 * Witness cosignatures (C2SP tlog-cosignature lines) per checkpoint, keyed by the tree they cosign (size and root)
 * and the witness's verifier (`name+hexkeyid`): a restart or another instance publishes them without asking the
 * witness again. Not part of the append-only log: a line is only published after it verifies with a witness key of
 * AUDIT_WITNESSES over the log-signed note of exactly that tree, so a row written here by hand proves nothing.
 */
export const auditCosignatures = pgTable(
  'audit_cosignatures',
  {
    treeSize: bigint('tree_size', { mode: 'number' }).notNull(),
    rootHash: text('root_hash').notNull(),
    witness: text('witness').notNull(),
    line: text('line').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.treeSize, t.rootHash, t.witness] })],
);

/**
 * Entries of mutations, written inside the mutation's own transaction (no change without its entry) and moved
 * into the chain by the recorder's next group commit. Appending to the chain in the mutation's transaction
 * would hold the chain lock through every mutation's commit (one fsync at a time for the whole database);
 * this table takes no lock, so concurrent mutations commit together. Chaining deletes the rows it chained.
 */
export const auditPending = pgTable('audit_pending', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  entry: jsonb('entry').$type<Record<string, unknown>>().notNull(),
  recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
});
