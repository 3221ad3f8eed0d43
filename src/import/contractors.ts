/** Contractors from the licensing system's CSV export, upserted by license number within the jurisdiction. */
import { sql } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';
import { LICENSE_STATUSES, type LicenseStatus } from '../db/schema/contractors.ts';
import { csvItems, isoDate } from './columns.ts';
import type { Checked, Dataset } from './run-import.ts';

export interface ContractorRow {
  license_number: string;
  name: string;
  license_status: LicenseStatus;
  license_expires_on: string;
}

function checkContractor(input: unknown): Checked<ContractorRow> {
  const f = input as Record<string, string>;
  const license = f.license_number ?? '';
  if (!license) return { reason: 'license_number is empty' };
  if (license.length > 64) return { reason: 'license_number is longer than 64 characters' };
  const name = f.name ?? '';
  if (!name) return { reason: `license ${license}: name is empty` };
  const status = (f.license_status ?? '').toUpperCase();
  if (!(LICENSE_STATUSES as readonly string[]).includes(status)) {
    return { reason: `license ${license}: license_status "${f.license_status ?? ''}" is not one of ${LICENSE_STATUSES.join(', ')}` };
  }
  const expires = isoDate(f.license_expires_on ?? '');
  if (!expires) return { reason: `license ${license}: license_expires_on "${f.license_expires_on ?? ''}" is not a date (YYYY-MM-DD)` };
  return {
    key: `license ${license}`,
    row: { license_number: license, name: name.slice(0, 200), license_status: status as LicenseStatus, license_expires_on: expires },
  };
}

async function writeContractors(tx: Tx, jurisdiction: { id: string }, rows: ContractorRow[]) {
  const result = rowsOf<{ inserted: boolean }>(
    await tx.execute(sql`
      insert into contractors (jurisdiction_id, license_number, name, license_status, license_expires_on)
      select ${jurisdiction.id}, r.license_number, r.name, r.license_status, r.license_expires_on
      from json_to_recordset(${JSON.stringify(rows)}::json) as r(license_number text, name text, license_status text, license_expires_on date)
      on conflict (jurisdiction_id, license_number) do update set
        name = excluded.name, license_status = excluded.license_status, license_expires_on = excluded.license_expires_on
      where (contractors.name, contractors.license_status, contractors.license_expires_on)
        is distinct from (excluded.name, excluded.license_status, excluded.license_expires_on)
      returning (xmax = 0) as inserted`),
  );
  const inserted = result.filter((r) => r.inserted).length;
  return { inserted, updated: result.length - inserted };
}

export const contractorsDataset: Dataset<ContractorRow> = {
  name: 'contractors',
  tables: ['contractors'],
  records: (path, chunks) => csvItems(path, chunks, ['license_number', 'name', 'license_status', 'license_expires_on']),
  check: checkContractor,
  write: writeContractors,
};
