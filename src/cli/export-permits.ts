/**
 * `export permits`: open-data export of permits as BLDS CSV or an RFC 7946 FeatureCollection, on stdout.
 *
 * Why a query of its own rather than the GraphQL reads: an export covers a whole jurisdiction (or all of
 * them) with no principal and no feature cap. Personal data stays out by construction: the SELECT names
 * public columns only (never applicant_*), and free text is scrubbed of anything that looks like an email,
 * a token or a credential, since an applicant may have typed one into the description.
 * Rows are read in pages in (jurisdiction, permit number) order and written as they come, so memory stays flat.
 */
import { and, asc, eq, gt, or, type SQL } from 'drizzle-orm';
import { redactString } from '../audit/redact.ts';
import type { Executor } from '../db/client.ts';
import { contractors } from '../db/schema/contractors.ts';
import { jurisdictions } from '../db/schema/jurisdictions.ts';
import { parcels } from '../db/schema/parcels.ts';
import { permits } from '../db/schema/permits.ts';
import type { Command } from './command.ts';
import { withDatabase } from './database.ts';
import { CliError, ExitCode, parseOptions, required, usageError, type Output } from './io.ts';

const PAGE = 1000;
const FORMATS = ['blds-csv', 'geojson'] as const;
type Format = (typeof FORMATS)[number];

/** BLDS (Building and Land Development Specification) core column names, in export order. */
export const BLDS_COLUMNS = [
  'PermitNum',
  'Description',
  'AppliedDate',
  'IssuedDate',
  'CompletedDate',
  'StatusCurrent',
  'StatusDate',
  'OriginalAddress1',
  'OriginalCity',
  'Jurisdiction',
  'PIN',
  'PermitType',
  'WorkClass',
  'EstProjectCost',
  'Latitude',
  'Longitude',
  'ContractorLicNum',
  'ContractorCompanyName',
] as const;
type BldsRecord = Record<(typeof BLDS_COLUMNS)[number], string | number | null>;

/** The only columns this export ever reads. */
const publicColumns = {
  jurisdictionId: permits.jurisdictionId,
  PermitNum: permits.permitNum,
  Description: permits.description,
  AppliedDate: permits.appliedDate,
  IssuedDate: permits.issuedDate,
  CompletedDate: permits.completedDate,
  StatusCurrent: permits.statusCurrent,
  StatusDate: permits.statusDate,
  OriginalAddress1: parcels.address,
  OriginalCity: jurisdictions.name,
  PIN: parcels.apn,
  PermitType: permits.permitType,
  WorkClass: permits.workClass,
  EstProjectCost: permits.estProjectCost,
  Latitude: parcels.latitude,
  Longitude: parcels.longitude,
  ContractorLicNum: contractors.licenseNumber,
  ContractorCompanyName: contractors.name,
};

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Public permit records in (jurisdiction, number) order, one page at a time. */
export async function* publicPermitRecords(db: Executor, jurisdiction?: string): AsyncGenerator<BldsRecord> {
  let after: { j: string; n: string } | null = null;
  for (;;) {
    const conds: SQL[] = [];
    if (jurisdiction) conds.push(eq(permits.jurisdictionId, jurisdiction));
    if (after) {
      conds.push(or(gt(permits.jurisdictionId, after.j), and(eq(permits.jurisdictionId, after.j), gt(permits.permitNum, after.n))) as SQL);
    }
    const rows = await db
      .select(publicColumns)
      .from(permits)
      .innerJoin(parcels, eq(parcels.id, permits.parcelId))
      .innerJoin(contractors, eq(contractors.id, permits.contractorId))
      .innerJoin(jurisdictions, eq(jurisdictions.id, permits.jurisdictionId))
      .where(and(...conds))
      .orderBy(asc(permits.jurisdictionId), asc(permits.permitNum))
      .limit(PAGE);
    for (const { jurisdictionId, ...r } of rows) {
      yield {
        ...r,
        Description: redactString(r.Description),
        AppliedDate: iso(r.AppliedDate),
        IssuedDate: iso(r.IssuedDate),
        CompletedDate: iso(r.CompletedDate),
        StatusDate: iso(r.StatusDate),
        Jurisdiction: jurisdictionId,
      };
    }
    const last = rows.at(-1);
    if (rows.length < PAGE || !last) return;
    after = { j: last.jurisdictionId, n: last.PermitNum };
  }
}

/**
 * One CSV cell (RFC 4180). Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a
 * leading apostrophe (OWASP CSV injection); numbers are written as they are.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

async function writeCsv(out: Output, records: AsyncIterable<BldsRecord>): Promise<number> {
  let n = 0;
  let chunk = `${BLDS_COLUMNS.join(',')}\r\n`;
  for await (const r of records) {
    chunk += `${BLDS_COLUMNS.map((c) => csvCell(r[c])).join(',')}\r\n`;
    if (++n % PAGE === 0) {
      await out.write(chunk);
      chunk = '';
    }
  }
  await out.write(chunk);
  return n;
}

async function writeGeoJson(out: Output, records: AsyncIterable<BldsRecord>): Promise<number> {
  let n = 0;
  let chunk = '{"type":"FeatureCollection","features":[';
  for await (const { Longitude, Latitude, ...properties } of records) {
    const feature = {
      type: 'Feature',
      id: properties.PermitNum,
      geometry: { type: 'Point', coordinates: [Longitude, Latitude] },
      properties,
    };
    chunk += `${n === 0 ? '\n' : ',\n'}${JSON.stringify(feature)}`;
    if (++n % PAGE === 0) {
      await out.write(chunk);
      chunk = '';
    }
  }
  await out.write(`${chunk}\n]}\n`);
  return n;
}

export const exportPermits: Command = {
  name: 'export permits',
  summary: 'open-data export of permits (BLDS CSV or GeoJSON), no personal data',
  help: `Usage: cli export permits --format blds-csv|geojson [--jurisdiction J]

Writes every permit (of jurisdiction J, or of all jurisdictions) to stdout:
  blds-csv  CSV with BLDS column names: ${BLDS_COLUMNS.join(', ')}
  geojson   an RFC 7946 FeatureCollection of Points at the parcel centroid, the same fields as properties
Applicant names, emails and phone numbers are never read; emails or tokens typed into descriptions are redacted.
The export itself is the output, so --json changes nothing; a count goes to stderr.`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, { format: { type: 'string' }, jurisdiction: { type: 'string' } });
    const format = required(o.format, '--format');
    if (!(FORMATS as readonly string[]).includes(format))
      throw usageError(`--format: must be one of ${FORMATS.join(', ')}, not "${format}"`);
    const count = await withDatabase(config(), async ({ db }) => {
      if (o.jurisdiction) {
        const [j] = await db.select({ id: jurisdictions.id }).from(jurisdictions).where(eq(jurisdictions.id, o.jurisdiction));
        if (!j) throw new CliError(`--jurisdiction: no jurisdiction ${o.jurisdiction}`);
      }
      const records = publicPermitRecords(db, o.jurisdiction);
      return (format as Format) === 'geojson' ? writeGeoJson(out, records) : writeCsv(out, records);
    });
    out.note(`exported ${count} permits`);
    return ExitCode.OK;
  },
};
