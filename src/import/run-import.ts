/**
 * The import loop shared by parcels, contractors, permits, inspections and status changes: it streams a file's
 * records, checks each one, and writes accepted rows in batches, each batch in one transaction with its own audit
 * entry, so an interrupted import leaves whole batches and running it again completes it (every write is an upsert
 * that leaves equal rows alone).
 * Without `skipInvalid` the first refused row stops the writing (its batch is not written) but the rest of the file
 * is still checked, so one run names every refused row.
 */
import { basename } from 'node:path';
import { suppressChangeEvents } from '../db/bulk-load.ts';
import type { Db, Executor, Tx } from '../db/client.ts';
import { jurisdictions, type Jurisdiction } from '../db/schema/jurisdictions.ts';
import { eq } from 'drizzle-orm';
import type { AuditRecorder } from '../audit/recorder.ts';
import { fileSha256, fileSize, ImportFileError, textChunks } from './source-file.ts';
import type { Progress } from './progress.ts';

/** One record of the file, before it is checked: `at` is the CSV line or the GeoJSON feature index. */
export type SourceItem = { at: number; input: unknown } | { at: number; reason: string };

export type Checked<Row> = { row: Row; key: string } | { reason: string };

export interface WriteCounts {
  inserted: number;
  updated: number;
  /** Status history rows written besides the dataset's own (permits: each new permit's initial row). */
  history?: number;
  /** Stand-in history rows the dataset's rows replaced (status changes: see legacy-history.ts). */
  replaced?: number;
}

export interface Dataset<Row> {
  name: 'parcels' | 'contractors' | 'permits' | 'inspections' | 'status-changes';
  /** The tables its writes change, analysed once the import has committed (import-chain.ts). */
  tables: readonly string[];
  /** What the file's records are, e.g. CSV rows or GeoJSON features (also checks the header or the CRS). */
  records(path: string, chunks: AsyncIterable<string>): AsyncIterable<SourceItem>;
  /** Checks one record on its own (no database): the row to write and its upsert key, or why it is refused. */
  check(input: unknown, jurisdiction: Jurisdiction): Checked<Row>;
  /** Refusals that need the database (unknown parcel, a key of another tenant), by index in `rows`. */
  resolve?(db: Executor, jurisdiction: Jurisdiction, rows: Row[]): Promise<Map<number, string>>;
  /** Upserts the rows, leaving rows equal to the stored ones untouched. */
  write(tx: Tx, jurisdiction: Jurisdiction, rows: Row[]): Promise<WriteCounts>;
}

export interface Refusal {
  at: number;
  reason: string;
}

export interface ImportOptions<Row> {
  db: Db;
  dataset: Dataset<Row>;
  jurisdiction: string;
  path: string;
  /** Writes one entry per committed batch (none on a dry run). */
  audit?: AuditRecorder;
  /** Who ran it, for the audit entries (e.g. `cli:alice`). */
  actor: string;
  dryRun?: boolean;
  skipInvalid?: boolean;
  /** Rows per batch and transaction. @default 2000 */
  batchSize?: number;
  /** Called for each refused row as it is found (the CLI prints it at once). */
  onRefusal?: (r: Refusal) => void;
  /** Draws the progress bar; none when absent. */
  progress?: (totalBytes: number) => Progress;
}

export interface ImportReport {
  dataset: string;
  file: string;
  sha256: string;
  jurisdiction: string;
  dryRun: boolean;
  /** Records read from the file. */
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  refused: number;
  /** Batches committed (a dry run commits none). */
  batches: number;
  /** False when a refused row stopped the writing (without skipInvalid): rerun after fixing the file. */
  complete: boolean;
  /** The first refusals (all of them are reported through onRefusal). */
  refusals: Refusal[];
}

const KEPT_REFUSALS = 1000;

/** Thrown inside a transaction to roll it back (dry runs, and a batch with a refused row). */
class Rollback extends Error {}

export async function runImport<Row>(o: ImportOptions<Row>): Promise<ImportReport> {
  const [jurisdiction] = await o.db.select().from(jurisdictions).where(eq(jurisdictions.id, o.jurisdiction));
  if (!jurisdiction) throw new ImportFileError(`no jurisdiction ${o.jurisdiction} (create it first: bun run cli jurisdictions create)`);
  const totalBytes = await fileSize(o.path);
  const sha256 = await fileSha256(o.path);
  const file = basename(o.path);
  const batchSize = o.batchSize ?? 2000;
  const progress = o.progress?.(totalBytes);
  const report: ImportReport = {
    dataset: o.dataset.name,
    file,
    sha256,
    jurisdiction: jurisdiction.id,
    dryRun: Boolean(o.dryRun),
    rows: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    refused: 0,
    batches: 0,
    complete: true,
    refusals: [],
  };
  const refuse = (at: number, reason: string) => {
    report.refused++;
    if (report.refusals.length < KEPT_REFUSALS) report.refusals.push({ at, reason });
    o.onRefusal?.({ at, reason });
    if (!o.skipInvalid) report.complete = false;
  };
  // first location of each key: a key twice in one file is a mistake in the file, not an update
  const seen = new Map<string, number>();
  let batch: { at: number; row: Row }[] = [];
  let batchFrom = 0;
  let batchTo = 0;
  let batchRefused = 0;
  let bytes = 0;

  const flush = async () => {
    const rows = batch;
    const refusedBefore = batchRefused;
    batch = [];
    batchRefused = 0;
    if (rows.length === 0) return;
    const writing = report.complete || o.skipInvalid;
    if (!writing) {
      // only checking now: report what the database would refuse, write nothing
      for (const [i, reason] of (await o.dataset.resolve?.(
        o.db,
        jurisdiction,
        rows.map((r) => r.row),
      )) ?? [])
        refuse(rows[i]!.at, reason);
      return;
    }
    let counts: WriteCounts & { unchanged: number; refused: number } = { inserted: 0, updated: 0, unchanged: 0, refused: 0 };
    try {
      await o.db.transaction(async (tx) => {
        // a city's existing records are not news: no webhook deliveries or subscription events for them
        await suppressChangeEvents(tx);
        const refusals =
          (await o.dataset.resolve?.(
            tx,
            jurisdiction,
            rows.map((r) => r.row),
          )) ?? new Map<number, string>();
        for (const [i, reason] of [...refusals].sort((a, b) => a[0] - b[0])) refuse(rows[i]!.at, reason);
        if (!report.complete && !o.skipInvalid) throw new Rollback();
        const valid = rows.filter((_, i) => !refusals.has(i)).map((r) => r.row);
        const w = valid.length ? await o.dataset.write(tx, jurisdiction, valid) : { inserted: 0, updated: 0 };
        counts = { ...w, unchanged: valid.length - w.inserted - w.updated, refused: refusals.size + refusedBefore };
        if (o.dryRun) throw new Rollback();
        await o.audit?.appendInTx(tx, {
          kind: 'import',
          operation: { type: 'import', name: `import ${o.dataset.name}` },
          actor: o.actor,
          jurisdiction: jurisdiction.id,
          dataset: o.dataset.name,
          file,
          fileSha256: sha256,
          batch: report.batches + 1,
          from: batchFrom,
          to: batchTo,
          ...counts,
          outcome: 'ALLOWED',
        });
      });
    } catch (err) {
      if (!(err instanceof Rollback)) throw err;
      if (!report.complete && !o.skipInvalid) return;
    }
    if (!o.dryRun) {
      report.batches++;
      o.audit?.committed();
    }
    report.inserted += counts.inserted;
    report.updated += counts.updated;
    report.unchanged += counts.unchanged;
  };

  for await (const item of o.dataset.records(
    o.path,
    textChunks(o.path, (n) => (bytes = n)),
  )) {
    report.rows++;
    if (batch.length === 0 && batchRefused === 0) batchFrom = item.at;
    batchTo = item.at;
    const checked = 'reason' in item ? item : o.dataset.check(item.input, jurisdiction);
    if ('reason' in checked) {
      refuse(item.at, checked.reason);
      batchRefused++;
    } else {
      const first = seen.get(checked.key);
      if (first !== undefined) {
        refuse(item.at, `duplicate ${checked.key} (also at ${file}:${first})`);
        batchRefused++;
      } else {
        seen.set(checked.key, item.at);
        batch.push({ at: item.at, row: checked.row });
      }
    }
    if (batch.length + batchRefused >= batchSize) await flush();
    progress?.update(bytes, report.rows);
  }
  await flush();
  progress?.done();
  return report;
}
