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
import { parcels, zoningCodes } from '../db/schema/parcels.ts';
import { permits } from '../db/schema/permits.ts';
import {
  bldsDate,
  PERMIT_TYPE_DESC,
  PERMIT_TYPE_MAPPED,
  permitClassMapped,
  STATUS_MAPPED,
  WORK_CLASS_MAPPED,
} from '../domain/blds-vocabulary.ts';
import { type CsvValue, writeCsv } from './blds-csv.ts';
import type { Command } from './command.ts';
import { withDatabase } from './database.ts';
import { CliError, ExitCode, parseOptions, required, usageError, type Output } from './io.ts';

export { csvCell } from './blds-csv.ts';

const PAGE = 1000;
const FORMATS = ['blds-csv', 'geojson'] as const;
type Format = (typeof FORMATS)[number];

/** BLDS core permits dataset: the required columns, then the recommended and optional ones we hold, in export order. */
export const BLDS_REQUIRED_COLUMNS = [
  'PermitNum',
  'Description',
  'AppliedDate',
  'IssuedDate',
  'CompletedDate',
  'StatusCurrent',
  'OriginalAddress1',
  'OriginalAddress2',
  'OriginalCity',
  'OriginalState',
  'OriginalZip',
] as const;
export const BLDS_COLUMNS = [
  ...BLDS_REQUIRED_COLUMNS,
  'Jurisdiction',
  'PermitClass',
  'PermitClassMapped',
  'StatusCurrentMapped',
  'WorkClass',
  'WorkClassMapped',
  'PermitType',
  'PermitTypeMapped',
  'PermitTypeDesc',
  'StatusDate',
  'Link',
  'Latitude',
  'Longitude',
  'EstProjectCost',
  'PIN',
  'ContractorCompanyName',
  'ContractorLicNum',
  'TotalSqFt',
  'HousingUnits',
  'ExpiresDate',
  'MasterPermitNum',
] as const;
type BldsRecord = Record<(typeof BLDS_COLUMNS)[number], CsvValue>;

/** The only columns this export ever reads. */
const publicColumns = {
  jurisdictionId: permits.jurisdictionId,
  timezone: jurisdictions.timezone,
  jurisdictionName: jurisdictions.name,
  jurisdictionState: jurisdictions.state,
  permitNum: permits.permitNum,
  description: permits.description,
  appliedDate: permits.appliedDate,
  issuedDate: permits.issuedDate,
  completedDate: permits.completedDate,
  status: permits.statusCurrent,
  statusDate: permits.statusDate,
  address: parcels.address,
  address1: parcels.address1,
  address2: parcels.address2,
  city: parcels.city,
  state: parcels.state,
  zip: parcels.zip,
  zoningCategory: zoningCodes.category,
  apn: parcels.apn,
  permitType: permits.permitType,
  workClass: permits.workClass,
  estProjectCost: permits.estProjectCost,
  latitude: parcels.latitude,
  longitude: parcels.longitude,
  contractorLicense: contractors.licenseNumber,
  contractorName: contractors.name,
  totalSqFt: permits.totalSqFt,
  housingUnits: permits.housingUnits,
  expiresDate: permits.expiresDate,
  masterPermitNum: permits.masterPermitNum,
};

/** Public permit records in (jurisdiction, number) order, one page at a time; `publicUrl` makes each `Link`. */
export async function* publicPermitRecords(db: Executor, publicUrl: string, jurisdiction?: string): AsyncGenerator<BldsRecord> {
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
      .innerJoin(zoningCodes, eq(zoningCodes.code, parcels.zoningCode))
      .innerJoin(contractors, eq(contractors.id, permits.contractorId))
      .innerJoin(jurisdictions, eq(jurisdictions.id, permits.jurisdictionId))
      .where(and(...conds))
      .orderBy(asc(permits.jurisdictionId), asc(permits.permitNum))
      .limit(PAGE);
    for (const r of rows) {
      const day = (d: Date | null) => bldsDate(d, r.timezone);
      yield {
        PermitNum: r.permitNum,
        Description: redactString(r.description),
        AppliedDate: day(r.appliedDate),
        IssuedDate: day(r.issuedDate),
        CompletedDate: day(r.completedDate),
        StatusCurrent: r.status,
        // parcels loaded before the address parts existed carry only the one-line address and the jurisdiction's city
        OriginalAddress1: r.address1 ?? r.address,
        OriginalAddress2: r.address2,
        OriginalCity: r.city ?? r.jurisdictionName,
        OriginalState: r.state ?? r.jurisdictionState,
        OriginalZip: r.zip,
        Jurisdiction: r.jurisdictionId,
        PermitClass: r.zoningCategory,
        PermitClassMapped: permitClassMapped(r.zoningCategory),
        StatusCurrentMapped: STATUS_MAPPED[r.status],
        WorkClass: r.workClass,
        WorkClassMapped: WORK_CLASS_MAPPED[r.workClass],
        PermitType: r.permitType,
        PermitTypeMapped: PERMIT_TYPE_MAPPED[r.permitType],
        PermitTypeDesc: PERMIT_TYPE_DESC[r.permitType],
        StatusDate: day(r.statusDate),
        Link: `${publicUrl}/status/${encodeURIComponent(r.permitNum)}`,
        Latitude: r.latitude,
        Longitude: r.longitude,
        EstProjectCost: r.estProjectCost,
        PIN: r.apn,
        ContractorCompanyName: r.contractorName,
        ContractorLicNum: r.contractorLicense,
        // held only when a legacy import supplied them; empty otherwise
        TotalSqFt: r.totalSqFt,
        HousingUnits: r.housingUnits,
        ExpiresDate: r.expiresDate,
        MasterPermitNum: r.masterPermitNum,
      };
    }
    const last = rows.at(-1);
    if (rows.length < PAGE || !last) return;
    after = { j: last.jurisdictionId, n: last.permitNum };
  }
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
  blds-csv  CSV with BLDS column names: ${BLDS_COLUMNS.join(', ')};
            dates YYYY-MM-DD in the jurisdiction's time zone, *Mapped columns as docs/blds.md lists them
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
      const records = publicPermitRecords(db, config().publicUrl, o.jurisdiction);
      return (format as Format) === 'geojson' ? writeGeoJson(out, records) : writeCsv(out, BLDS_COLUMNS, records);
    });
    out.note(`exported ${count} permits`);
    return ExitCode.OK;
  },
};
