import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { CLI_HOOK_TIMEOUT, CLI_TEST_TIMEOUT, createCliDatabase, plantEmailInDescription, runCli, type CliDatabase } from './support.ts';

let cdb: CliDatabase;
let plantedPermit: string;
beforeAll(async () => {
  cdb = await createCliDatabase();
  plantedPermit = await plantEmailInDescription(cdb);
}, CLI_HOOK_TIMEOUT);
afterAll(async () => {
  await cdb?.drop();
}, CLI_HOOK_TIMEOUT);

const BLDS_HEADER = [
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
];

describe('cli export permits', () => {
  test(
    'the BLDS CSV has the BLDS header, every permit, and no applicant data or email at all',
    async () => {
      const res = await runCli(['export', 'permits', '--format', 'blds-csv'], cdb.env);
      expect(res.code).toBe(0);
      const lines = res.stdout.trimEnd().split('\r\n');
      expect(lines[0]?.split(',')).toEqual(BLDS_HEADER);
      expect(lines.length - 1).toBe(424); // small demo data: 400 + 24 permits
      // applicant emails contain '@'; so does the one planted in a description, which must be redacted
      expect(res.stdout).not.toContain('@');
      expect(res.stdout).not.toMatch(/applicant/i);
      const planted = lines.find((l) => l.startsWith(`${plantedPermit},`));
      expect(planted).toContain('[REDACTED]');
      expect(res.stderr).toContain('exported 424 permits');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    '--jurisdiction limits the export, and GeoJSON is a FeatureCollection of points with the same public fields',
    async () => {
      const res = await runCli(['export', 'permits', '--format', 'geojson', '--jurisdiction', 'other-town'], cdb.env);
      expect(res.code).toBe(0);
      const fc = JSON.parse(res.stdout);
      expect(fc.type).toBe('FeatureCollection');
      expect(fc.features).toHaveLength(24);
      for (const f of fc.features) {
        expect(f.type).toBe('Feature');
        expect(f.geometry.type).toBe('Point');
        expect(f.geometry.coordinates).toHaveLength(2);
        expect(f.properties.Jurisdiction).toBe('other-town');
        expect(f.properties.PermitNum).toMatch(/^OT-/);
      }
      expect(Object.keys(fc.features[0].properties).sort()).toEqual(
        BLDS_HEADER.filter((c) => c !== 'Latitude' && c !== 'Longitude').sort(),
      );
      expect(res.stdout).not.toContain('@');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'an unknown format is a usage error and an unknown jurisdiction a failure, each with a message',
    async () => {
      const format = await runCli(['export', 'permits', '--format', 'xlsx'], cdb.env);
      expect(format.code).toBe(2);
      expect(format.stderr).toContain('--format: must be one of blds-csv, geojson');
      const nowhere = await runCli(['export', 'permits', '--format', 'blds-csv', '--jurisdiction', 'atlantis'], cdb.env);
      expect(nowhere.code).toBe(1);
      expect(nowhere.stderr).toContain('no jurisdiction atlantis');
      expect(nowhere.stdout).toBe('');
    },
    CLI_TEST_TIMEOUT,
  );
});
