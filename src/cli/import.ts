/**
 * `import parcels|contractors|permits|inspections|status-changes`: wires the importer (src/import/) to the command
 * line. `import permits` also takes the legacy system's inspections and status history files (`--inspections`,
 * `--status-changes`) and imports them after the permits they belong to, as one command an operator pastes.
 */
import { userInfo } from 'node:os';
import { createAuditRecorder } from '../audit/recorder.ts';
import { createLogger } from '../logger.ts';
import { contractorsDataset } from '../import/contractors.ts';
import { inspectionsDataset } from '../import/inspections.ts';
import { parcelsDataset } from '../import/parcels.ts';
import { permitsDataset } from '../import/permits.ts';
import { createProgress } from '../import/progress.ts';
import { runImportChain } from '../import/import-chain.ts';
import type { Dataset, ImportReport } from '../import/run-import.ts';
import { ImportFileError } from '../import/source-file.ts';
import { statusChangesDataset } from '../import/status-changes.ts';
import type { Command } from './command.ts';
import { withDatabase } from './database.ts';
import { CliError, ExitCode, parseArgsWithFile, required, usageError } from './io.ts';

const COMMON_HELP = `  --jurisdiction J   the tenant the rows belong to (cli jurisdictions create)
  --dry-run          check every row and report what would change; write nothing
  --skip-invalid     write the valid rows and exit 0 even when rows were refused
  --batch-size N     rows per transaction and audit entry (default 2000)
  --json             machine-readable report on stdout

Each refused row is printed to stderr as FILE:LINE: reason (for GeoJSON, the feature's 0-based index). Without
--skip-invalid the first refused row stops the writing (batches before it stay written, whole) and the command exits
1 after checking the rest of the file; fix the file and run it again: rows already imported are left unchanged.
Rows are upserted, so a second run of the same file changes nothing. Each committed batch writes one audit entry
(file name, SHA-256 of the file, counts).`;

/** A further file `import permits` takes, imported after the permits (e.g. `--inspections FILE`). */
interface FollowingFile {
  option: string;
  /** An older spelling that keeps working. */
  alias?: string;
  // biome-ignore lint/suspicious/noExplicitAny: each file has its own row type; only runImport sees it
  dataset: Dataset<any>;
}

const summaryLines = (report: ImportReport) => {
  const verb = report.dryRun ? 'would be ' : '';
  return [
    `${report.dryRun ? 'Dry run: ' : ''}${report.file} (sha256 ${report.sha256.slice(0, 16)}…) → ${report.jurisdiction} ${report.dataset}: ${report.rows} rows read`,
    `  ${report.inserted} ${verb}inserted, ${report.updated} ${verb}updated, ${report.unchanged} unchanged, ${report.refused} refused${report.dryRun ? '' : `; ${report.batches} batch(es) committed`}`,
    ...(report.complete ? [] : ['  stopped writing at the first refused row: fix the file and run it again (or pass --skip-invalid)']),
  ];
};

function importCommand<Row>(
  dataset: Dataset<Row>,
  usage: string,
  summary: string,
  columns: string,
  following: readonly FollowingFile[] = [],
): Command {
  const followingUsage = following.map((f) => ` [--${f.option} FILE]`).join('');
  return {
    name: `import ${dataset.name}`,
    summary,
    help: `Usage: cli import ${dataset.name} --jurisdiction J ${usage}${followingUsage} [--dry-run] [--skip-invalid] [--batch-size N] [--json]

${columns}

${COMMON_HELP}`,
    async run(argv, { out, config }) {
      const extra: Record<string, { type: 'string' }> = {};
      for (const f of following) {
        extra[f.option] = { type: 'string' };
        if (f.alias) extra[f.alias] = { type: 'string' };
      }
      const { values: o, file } = parseArgsWithFile(argv, {
        jurisdiction: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        'skip-invalid': { type: 'boolean', default: false },
        'batch-size': { type: 'string' },
        ...extra,
      });
      const jurisdiction = required(o.jurisdiction, '--jurisdiction');
      const batchSize = o['batch-size'] === undefined ? 2000 : Number(o['batch-size']);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 50_000)
        throw usageError('--batch-size: a whole number from 1 to 50000');
      const values = o as Record<string, unknown>;
      const files = [
        { dataset, path: file },
        ...following.flatMap((f) => {
          const path = (values[f.option] ?? (f.alias ? values[f.alias] : undefined)) as string | undefined;
          return path === undefined ? [] : [{ dataset: f.dataset, path }];
        }),
      ];
      const cfg = config();
      let reports: ImportReport[];
      try {
        reports = await withDatabase(cfg, async (database) => {
          const audit = createAuditRecorder({ db: database.db, log: createLogger(process.env.LOG_LEVEL ?? 'warn') });
          try {
            return await runImportChain({
              db: database.db,
              files,
              jurisdiction,
              audit,
              actor: `cli:${userInfo().username}`,
              dryRun: o['dry-run'],
              skipInvalid: o['skip-invalid'],
              batchSize,
              onRefusal: (f, r) => process.stderr.write(`${f.path}:${r.at}: ${r.reason}\n`),
              progress: (totalBytes, f) => createProgress({ totalBytes, label: `import ${f.dataset.name}` }),
            });
          } finally {
            // the batches' staged entries join the chain now (a server would otherwise chain them later)
            await audit.flush();
            await audit.close();
          }
        });
      } catch (err) {
        if (err instanceof ImportFileError) throw new CliError(err.message);
        throw err;
      }
      const [report, ...rest] = reports as [ImportReport, ...ImportReport[]];
      const skipped = files.slice(reports.length).map((f) => f.path);
      // the first file's report keeps its shape; the following files' reports ride along
      const data = following.length && files.length > 1 ? { ...report, following: rest, notImported: skipped } : report;
      await out.result(data, () =>
        [
          ...reports.flatMap(summaryLines),
          ...skipped.map((p) => `${p}: not imported (the import before it stopped): fix that file and run the command again`),
        ].join('\n'),
      );
      const refused = reports.some((r) => r.refused > 0) || skipped.length > 0;
      return refused && !o['skip-invalid'] ? ExitCode.FAILED : ExitCode.OK;
    },
  };
}

export const importParcels = importCommand(
  parcelsDataset,
  'FILE.geojson|FILE.csv',
  'import parcels (GeoJSON or CSV with WKT, WGS 84); upsert by APN',
  `FILE is a GeoJSON FeatureCollection of Polygon/MultiPolygon features in WGS 84 (from a shapefile or file
geodatabase: ogr2ogr -f GeoJSON -t_srs EPSG:4326 out.geojson county.shp), or a CSV (name ending .csv) with a wkt
column. Columns (feature properties or CSV headers, case-insensitive; others ignored): apn, address1, address2,
city, state, zip, zoning, and in CSV wkt. A file without apn or zoning (or a CSV without wkt) is refused before any
row, naming the columns it has: rename the county's (ogr2ogr -sql "SELECT PARCEL_ID AS apn, ZONE AS zoning … FROM layer").`,
);

export const importContractors = importCommand(
  contractorsDataset,
  'FILE.csv',
  'import contractors (CSV); upsert by license number',
  'Columns (case-insensitive; others ignored): license_number, name, license_status (ACTIVE, SUSPENDED, EXPIRED,\nREVOKED), license_expires_on (YYYY-MM-DD).',
);

export const importPermits = importCommand(
  permitsDataset,
  'FILE.csv',
  'import permits (BLDS CSV from a legacy system); upsert by PermitNum',
  `Columns (BLDS names, case-insensitive; others ignored): PermitNum, Description, AppliedDate, IssuedDate,
CompletedDate, StatusCurrent (our values, e.g. UNDER_REVIEW, or BLDS StatusCurrentMapped values, e.g. "Permit Issued"),
PermitType, WorkClass, EstProjectCost, PIN (the parcel's APN), ContractorLicNum, and optionally TotalSqFt,
HousingUnits, ExpiresDate, MasterPermitNum. Dates without an offset are local time of the jurisdiction's time zone.
Import parcels and contractors first. Each new permit gets one status history row (its StatusCurrent at its status
date), which its status changes, when imported, replace.
Optional personal data (not BLDS; stored for clerks, never exported or logged): ApplicantName, ApplicantEmail,
ApplicantPhone. A file without these columns leaves the stored applicant as it is.
--inspections FILE and --status-changes FILE (also --status-history) import the legacy system's BLDS inspections
and status-changes files after the permits, as cli import inspections and cli import status-changes do; they are
not imported when the permits import stopped at a refused row.`,
  [
    { option: 'status-changes', alias: 'status-history', dataset: statusChangesDataset },
    { option: 'inspections', dataset: inspectionsDataset },
  ],
);

export const importInspections = importCommand(
  inspectionsDataset,
  'FILE.csv',
  'import inspections (BLDS inspections CSV); upsert by permit, type and scheduled date',
  `Columns (BLDS names, case-insensitive; others ignored): PermitNum, InspType, Result (ours: PENDING, PASS, FAIL,
PARTIAL, CANCELLED, or a legacy spelling such as Approved) or ResultMapped (BLDS: Passed, Rejected, Partial,
Cancelled, OK for Service), ScheduledDate and/or InspectedDate (at least one), RequestDate (or RequestedDate), Final
and ReInspection (Yes/No or Y/N; checked, not stored: the result says whether one is needed), Inspector (an identifier; it is exported as is, so not a person's name). An inspection is
identified by PermitNum, InspType and ScheduledDate (InspectedDate when there is no ScheduledDate): a rerun updates
its result, dates and flags. A ScheduledDate without a time books the whole local day of the inspectors' capacity.
Import the permits first. No webhook or subscription events are raised for imported inspections.`,
);

export const importStatusChanges = importCommand(
  statusChangesDataset,
  'FILE.csv',
  'import status history (BLDS status-changes CSV); upsert by permit, status and date',
  `Columns (BLDS names, case-insensitive; others ignored): PermitNum, StatusPrevious (the status the permit entered:
ours, or a BLDS StatusPreviousMapped value) or StatusPreviousMapped, StatusPreviousDate, Comments. StatusCurrent,
StatusCurrentMapped and StatusDate are read when the StatusPrevious columns are absent. One row is identified by
PermitNum, status and date: a rerun adds nothing and updates a changed comment. Each row's previous status follows
from the permit's history in date order, and replaces the one row import permits gave a permit it had no history
for. Import the permits first. No webhook or subscription events are raised.`,
);
