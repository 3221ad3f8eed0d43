/** `import parcels|contractors|permits`: wires the importer (src/import/) to the command line. */
import { userInfo } from 'node:os';
import { createAuditRecorder } from '../audit/recorder.ts';
import { createLogger } from '../logger.ts';
import { contractorsDataset } from '../import/contractors.ts';
import { parcelsDataset } from '../import/parcels.ts';
import { permitsDataset } from '../import/permits.ts';
import { createProgress } from '../import/progress.ts';
import { runImport, type Dataset, type ImportReport } from '../import/run-import.ts';
import { ImportFileError } from '../import/source-file.ts';
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

function importCommand<Row>(dataset: Dataset<Row>, usage: string, summary: string, columns: string): Command {
  return {
    name: `import ${dataset.name}`,
    summary,
    help: `Usage: cli import ${dataset.name} --jurisdiction J ${usage} [--dry-run] [--skip-invalid] [--batch-size N] [--json]

${columns}

${COMMON_HELP}`,
    async run(argv, { out, config }) {
      const { values: o, file } = parseArgsWithFile(argv, {
        jurisdiction: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        'skip-invalid': { type: 'boolean', default: false },
        'batch-size': { type: 'string' },
      });
      const jurisdiction = required(o.jurisdiction, '--jurisdiction');
      const batchSize = o['batch-size'] === undefined ? 2000 : Number(o['batch-size']);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 50_000)
        throw usageError('--batch-size: a whole number from 1 to 50000');
      const cfg = config();
      let report: ImportReport;
      try {
        report = await withDatabase(cfg, async (database) => {
          const audit = createAuditRecorder({ db: database.db, log: createLogger(process.env.LOG_LEVEL ?? 'warn') });
          try {
            return await runImport({
              db: database.db,
              dataset,
              jurisdiction,
              path: file,
              audit,
              actor: `cli:${userInfo().username}`,
              dryRun: o['dry-run'],
              skipInvalid: o['skip-invalid'],
              batchSize,
              onRefusal: (r) => process.stderr.write(`${file}:${r.at}: ${r.reason}\n`),
              progress: (totalBytes) => createProgress({ totalBytes, label: `import ${dataset.name}` }),
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
      const verb = report.dryRun ? 'would be ' : '';
      await out.result(report, () =>
        [
          `${report.dryRun ? 'Dry run: ' : ''}${report.file} (sha256 ${report.sha256.slice(0, 16)}…) → ${report.jurisdiction} ${report.dataset}: ${report.rows} rows read`,
          `  ${report.inserted} ${verb}inserted, ${report.updated} ${verb}updated, ${report.unchanged} unchanged, ${report.refused} refused${report.dryRun ? '' : `; ${report.batches} batch(es) committed`}`,
          ...(report.complete
            ? []
            : ['  stopped writing at the first refused row: fix the file and run it again (or pass --skip-invalid)']),
        ].join('\n'),
      );
      return report.refused > 0 && !o['skip-invalid'] ? ExitCode.FAILED : ExitCode.OK;
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
city, state, zip, zoning, and in CSV wkt.`,
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
PermitType, WorkClass, EstProjectCost, PIN (the parcel's APN), ContractorLicNum. Dates without an offset are local
time of the jurisdiction's time zone. Import parcels and contractors first.`,
);
