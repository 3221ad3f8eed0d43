/**
 * `export inspections` and `export status-changes`: BLDS's optional inspections and status-changes datasets as CSV.
 *
 * Like `export permits`, each names public columns only: no applicant data, and free text (status-change reasons,
 * which a clerk types) is redacted. Inspection notes are left out altogether, since an inspector may write about
 * the people met on site. Rows are read in pages in id order, so memory stays flat.
 */
import { and, asc, eq, gt, type SQL, sql } from 'drizzle-orm';
import { redactString } from '../audit/redact.ts';
import type { Executor } from '../db/client.ts';
import { inspections } from '../db/schema/inspections.ts';
import { jurisdictions } from '../db/schema/jurisdictions.ts';
import { permits, permitStatusHistory } from '../db/schema/permits.ts';
import {
  bldsDate,
  bldsFlag,
  INSPECTION_RESULT_MAPPED,
  inspectionTypeMapped,
  isFinalInspectionType,
  reinspectionNeeded,
  STATUS_MAPPED,
} from '../domain/blds-vocabulary.ts';
import { type CsvValue, writeCsv } from './blds-csv.ts';
import type { Command } from './command.ts';
import { withDatabase } from './database.ts';
import { CliError, ExitCode, parseOptions, required, usageError } from './io.ts';

const PAGE = 1000;

/** BLDS inspections dataset columns, in export order. */
export const BLDS_INSPECTION_COLUMNS = [
  'PermitNum',
  'InspType',
  'InspTypeMapped',
  'Result',
  'ResultMapped',
  'RequestDate',
  'ScheduledDate',
  'InspectedDate',
  'Final',
  'ReInspection',
  'Inspector',
  'Jurisdiction',
] as const;

/** BLDS status-changes dataset columns: one row per status a permit entered, with the day it did. */
export const BLDS_STATUS_CHANGE_COLUMNS = [
  'PermitNum',
  'StatusPrevious',
  'StatusPreviousMapped',
  'StatusPreviousDate',
  'Comments',
  'Jurisdiction',
] as const;

type InspectionRecord = Record<(typeof BLDS_INSPECTION_COLUMNS)[number], CsvValue>;
type StatusChangeRecord = Record<(typeof BLDS_STATUS_CHANGE_COLUMNS)[number], CsvValue>;

export async function* inspectionRecords(db: Executor, jurisdiction?: string): AsyncGenerator<InspectionRecord> {
  let after: string | null = null;
  for (;;) {
    const conds: SQL[] = [];
    if (jurisdiction) conds.push(eq(permits.jurisdictionId, jurisdiction));
    if (after) conds.push(gt(inspections.id, after));
    const rows = await db
      .select({
        id: inspections.id,
        permitNum: permits.permitNum,
        jurisdictionId: permits.jurisdictionId,
        timezone: jurisdictions.timezone,
        type: inspections.inspectionType,
        result: inspections.result,
        createdAt: inspections.createdAt,
        windowStart: inspections.windowStart,
        recordedAt: inspections.recordedAt,
        isFinal: inspections.isFinal,
        inspector: inspections.inspector,
        assignedInspector: inspections.assignedInspector,
      })
      .from(inspections)
      .innerJoin(permits, eq(permits.id, inspections.permitId))
      .innerJoin(jurisdictions, eq(jurisdictions.id, permits.jurisdictionId))
      .where(and(...conds))
      .orderBy(asc(inspections.id))
      .limit(PAGE);
    for (const r of rows) {
      yield {
        PermitNum: r.permitNum,
        InspType: r.type,
        InspTypeMapped: inspectionTypeMapped(r.type),
        Result: r.result,
        ResultMapped: INSPECTION_RESULT_MAPPED[r.result],
        RequestDate: bldsDate(r.createdAt, r.timezone),
        ScheduledDate: bldsDate(r.windowStart, r.timezone),
        InspectedDate: bldsDate(r.recordedAt, r.timezone),
        // rows from before the flag existed (and imports) are final when their type says so
        Final: bldsFlag(r.isFinal || isFinalInspectionType(r.type)),
        ReInspection: bldsFlag(reinspectionNeeded(r.result)),
        // staff client ids, not people's names
        Inspector: r.inspector ?? r.assignedInspector,
        Jurisdiction: r.jurisdictionId,
      };
    }
    const last = rows.at(-1);
    if (rows.length < PAGE || !last) return;
    after = last.id;
  }
}

export async function* statusChangeRecords(db: Executor, jurisdiction?: string): AsyncGenerator<StatusChangeRecord> {
  let after = 0;
  for (;;) {
    // rows with from = to note a correction or condition, not a status the permit entered
    const conds: SQL[] = [
      gt(permitStatusHistory.id, after),
      sql`${permitStatusHistory.fromStatus} is distinct from ${permitStatusHistory.toStatus}`,
    ];
    if (jurisdiction) conds.push(eq(permits.jurisdictionId, jurisdiction));
    const rows = await db
      .select({
        id: permitStatusHistory.id,
        permitNum: permits.permitNum,
        jurisdictionId: permits.jurisdictionId,
        timezone: jurisdictions.timezone,
        to: permitStatusHistory.toStatus,
        reason: permitStatusHistory.reason,
        changedAt: permitStatusHistory.changedAt,
      })
      .from(permitStatusHistory)
      .innerJoin(permits, eq(permits.id, permitStatusHistory.permitId))
      .innerJoin(jurisdictions, eq(jurisdictions.id, permits.jurisdictionId))
      .where(and(...conds))
      .orderBy(asc(permitStatusHistory.id))
      .limit(PAGE);
    for (const r of rows) {
      yield {
        PermitNum: r.permitNum,
        StatusPrevious: r.to,
        StatusPreviousMapped: STATUS_MAPPED[r.to],
        StatusPreviousDate: bldsDate(r.changedAt, r.timezone),
        Comments: r.reason === null ? null : redactString(r.reason),
        Jurisdiction: r.jurisdictionId,
      };
    }
    const last = rows.at(-1);
    if (rows.length < PAGE || !last) return;
    after = last.id;
  }
}

function datasetCommand<C extends string>(
  dataset: string,
  columns: readonly C[],
  records: (db: Executor, jurisdiction?: string) => AsyncIterable<Record<C, CsvValue>>,
): Command {
  return {
    name: `export ${dataset}`,
    summary: `BLDS ${dataset} dataset as CSV, no personal data`,
    help: `Usage: cli export ${dataset} --format blds-csv [--jurisdiction J]

Writes the BLDS ${dataset} dataset (of jurisdiction J, or of all jurisdictions) to stdout as CSV with the columns
  ${columns.join(', ')}
Dates are YYYY-MM-DD in the jurisdiction's time zone; *Mapped columns as docs/blds.md lists them. A count goes to stderr.`,
    async run(argv, { out, config }) {
      const o = parseOptions(argv, { format: { type: 'string' }, jurisdiction: { type: 'string' } });
      const format = required(o.format, '--format');
      if (format !== 'blds-csv') throw usageError(`--format: must be blds-csv, not "${format}"`);
      const count = await withDatabase(config(), async ({ db }) => {
        if (o.jurisdiction) {
          const [j] = await db.select({ id: jurisdictions.id }).from(jurisdictions).where(eq(jurisdictions.id, o.jurisdiction));
          if (!j) throw new CliError(`--jurisdiction: no jurisdiction ${o.jurisdiction}`);
        }
        return writeCsv(out, columns, records(db, o.jurisdiction));
      });
      out.note(`exported ${count} ${dataset}`);
      return ExitCode.OK;
    },
  };
}

export const exportInspections = datasetCommand('inspections', BLDS_INSPECTION_COLUMNS, inspectionRecords);
export const exportStatusChanges = datasetCommand('status-changes', BLDS_STATUS_CHANGE_COLUMNS, statusChangeRecords);
