/**
 * Several files imported in order, each referring to the rows of the ones before it (permits, then their status
 * history and inspections). The chain stops after a file whose import stopped at a refused row: the files after it
 * would only refuse more rows for want of it.
 *
 * A dry run of a single file rolls back each batch (run-import.ts). A dry run of a chain must let the later files see
 * the earlier files' rows, or every inspection would be refused as naming an unknown permit: it runs the whole chain
 * for real inside one outer transaction (each batch a savepoint) without audit entries, and rolls that back at the end.
 */
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
