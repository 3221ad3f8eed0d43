/**
 * Several files imported in order, each referring to the rows of the ones before it (permits, then their status
 * history and inspections). The chain stops after a file whose import stopped at a refused row: the files after it
 * would only refuse more rows for want of it.
 *
 * A dry run of a single file rolls back each batch (run-import.ts). A dry run of a chain must let the later files see
 * the earlier files' rows, or every inspection would be refused as naming an unknown permit: it runs the whole chain
 * for real inside one outer transaction (each batch a savepoint) without audit entries, and rolls that back at the end.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import type { Progress } from './progress.ts';
import { type Dataset, type ImportOptions, type ImportReport, runImport } from './run-import.ts';

export interface ChainFile {
  // biome-ignore lint/suspicious/noExplicitAny: each file has its own row type; only runImport sees it
  dataset: Dataset<any>;
  path: string;
}

export interface ChainOptions extends Omit<ImportOptions<unknown>, 'dataset' | 'path' | 'onRefusal' | 'progress'> {
  files: readonly ChainFile[];
  onRefusal?: (file: ChainFile, r: { at: number; reason: string }) => void;
  /** Draws the progress bar of one file; none when absent. */
  progress?: (totalBytes: number, file: ChainFile) => Progress;
}

/**
 * Refreshes the planner's statistics of the tables an import wrote to. A running server prepares its statements
 * with one generic plan each (src/db/prepared-statements.ts), made from the statistics of the day: planned on a
 * city's empty tables, a lookup can stay a sequential scan over the hundreds of thousands of rows just imported,
 * until autovacuum (if it runs at all) analyses them. ANALYZE invalidates those plans. A role that does not own a
 * table cannot analyse it before PostgreSQL 17; it gets a notice, not an error, and the import stands.
 */
async function analyzeWritten(db: Db, files: readonly ChainFile[], reports: readonly ImportReport[]) {
  const tables = new Set(files.filter((_, i) => (reports[i]?.batches ?? 0) > 0).flatMap((f) => f.dataset.tables));
  if (tables.size) await db.execute(sql.raw(`analyze ${[...tables].map((t) => `"${t}"`).join(', ')}`));
}

/** Thrown to roll back a chained dry run. */
class ChainRollback extends Error {}

/** The reports of the files imported, in order; files after a stopped import have none. */
export async function runImportChain(o: ChainOptions): Promise<ImportReport[]> {
  const reports: ImportReport[] = [];
  const run = async (db: Db, dryRun: boolean, audit: ImportOptions<unknown>['audit']) => {
    for (const f of o.files) {
      const report = await runImport({
        ...o,
        db,
        dryRun,
        audit,
        dataset: f.dataset,
        path: f.path,
        onRefusal: (r) => o.onRefusal?.(f, r),
        progress: o.progress && ((totalBytes) => o.progress!(totalBytes, f)),
      });
      reports.push(report);
      if (!report.complete) return;
    }
  };
  if (!o.dryRun || o.files.length < 2) {
    await run(o.db, Boolean(o.dryRun), o.audit);
    if (!o.dryRun) await analyzeWritten(o.db, o.files, reports);
    return reports;
  }
  try {
    await o.db.transaction(async (tx) => {
      await run(tx, false, undefined);
      throw new ChainRollback();
    });
  } catch (err) {
    if (!(err instanceof ChainRollback)) throw err;
  }
  // what a dry run reports: nothing was committed
  return reports.map((r) => ({ ...r, dryRun: true, batches: 0 }));
}
