/**
 * A city's legacy inspections and status history (issue 20), imported the way an operator does: the BLDS exports of
 * one database import into an empty one and export again unchanged (the round trip), with no webhook deliveries for
 * the old records, one audit entry per batch and a rerun that changes nothing; refused rows are named FILE:LINE; and
 * the applicant's personal data, when the legacy file has it, is stored for clerks but appears in no export, refusal
 * or audit entry.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rowsOf } from '../../src/db/rows.ts';
import { CLI_HOOK_TIMEOUT, CLI_TEST_TIMEOUT, createCliDatabase, runCli, type CliDatabase } from './support.ts';

const J = 'demo-city';
let source: CliDatabase; // the seeded demo data: what a legacy system holds
let target: CliDatabase; // an empty database the city moves into
let dir: string;

beforeAll(async () => {
  [source, target] = await Promise.all([createCliDatabase({ seed: true }), createCliDatabase({ seed: false })]);
  dir = mkdtempSync(join(tmpdir(), 'pg-import-history-'));
  // two databases, one of them seeded
}, 2 * CLI_HOOK_TIMEOUT);
afterAll(async () => {
  await Promise.all([source?.drop(), target?.drop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
}, CLI_HOOK_TIMEOUT);

async function query<T>(db: CliDatabase, text: string): Promise<T[]> {
  const database = await db.open();
  try {
    return rowsOf<T>(await database.db.execute(sql.raw(text)));
  } finally {
    await database.close();
  }
}
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
async function exported(db: CliDatabase, dataset: string): Promise<string> {
  const r = await runCli(['export', dataset, '--format', 'blds-csv', '--jurisdiction', J], db.env);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout;
}
const importInto = async (db: CliDatabase, ...args: string[]) => {
  const r = await runCli(['import', ...args, '--jurisdiction', J, '--json'], db.env);
  return { ...r, report: r.stdout ? JSON.parse(r.stdout) : null };
};
const sortedLines = (csv: string) => csv.trimEnd().split('\r\n').sort();

describe('legacy inspections and status history', () => {
  test('the BLDS exports import into an empty database and export again unchanged; no events; a rerun changes nothing', async () => {
    // what the legacy system exports: parcels and contractors as the county and licensing board give them, permits,
    // inspections and status changes as BLDS CSV
    const [j] = await query<{ name: string; state: string; timezone: string }>(
      source,
      `select name, state, timezone from jurisdictions where id = '${J}'`,
    );
    const parcelRows = await query<{ apn: string; zoning: string; geometry: unknown }>(
      source,
      `select apn, zoning_code as zoning, geometry from parcels where jurisdiction_id = '${J}'`,
    );
    const parcelsPath = file(
      'parcels.geojson',
      JSON.stringify({
        type: 'FeatureCollection',
        features: parcelRows.map((p) => ({ type: 'Feature', properties: { apn: p.apn, zoning: p.zoning }, geometry: p.geometry })),
      }),
    );
    const contractorRows = await query<{ l: string; n: string; s: string; e: string }>(
      source,
      `select license_number as l, name as n, license_status as s, license_expires_on::text as e from contractors where jurisdiction_id = '${J}'`,
    );
    const contractorsPath = file(
      'contractors.csv',
      ['license_number,name,license_status,license_expires_on', ...contractorRows.map((c) => `${c.l},"${c.n}",${c.s},${c.e}`)].join('\n'),
    );
    const permitsPath = file('permits.csv', await exported(source, 'permits'));
    const inspectionsCsv = await exported(source, 'inspections');
    const statusCsv = await exported(source, 'status-changes');
    const inspectionsPath = file('inspections.csv', inspectionsCsv);
    const statusPath = file('status-changes.csv', statusCsv);
    expect(sortedLines(inspectionsCsv).length).toBeGreaterThan(50);
    expect(sortedLines(statusCsv).length).toBeGreaterThan(400);
    // what is read back is BLDS's datasets by BLDS's names and vocabularies (permitdata.org), not our own spelling
    const inspectionHeader = inspectionsCsv.slice(0, inspectionsCsv.indexOf('\r\n')).split(',');
    for (const c of ['PermitNum', 'InspType', 'InspTypeMapped', 'Result', 'ResultMapped', 'ScheduledDate', 'InspectedDate'])
      expect(inspectionHeader).toContain(c);
    for (const c of ['RequestDate', 'Final', 'ReInspection', 'Inspector']) expect(inspectionHeader).toContain(c);
    expect(inspectionHeader).not.toContain('RequestedDate');
    const column = (csv: string, name: string) => {
      const [head, ...lines] = csv.trimEnd().split('\r\n');
      const i = head!.split(',').indexOf(name);
      // the demo data's values have no quoted commas in these columns
      return lines.map((l) => l.split(',')[i]!);
    };
    const mapped = column(inspectionsCsv, 'ResultMapped');
    const results = column(inspectionsCsv, 'Result');
    for (const v of mapped) expect(['', 'Passed', 'Rejected', 'Partial', 'Cancelled', 'OK for Service']).toContain(v);
    expect(mapped).toContain('Passed');
    expect(mapped).toContain('Rejected');
    // a pending inspection has no BLDS result: its ResultMapped is empty, and only its
    mapped.forEach((v, i) => expect(v === '').toBe(results[i] === 'PENDING'));
    expect(results).toContain('PENDING');
    expect(new Set(column(inspectionsCsv, 'Final'))).toEqual(new Set(['Yes', 'No']));
    expect(statusCsv.slice(0, statusCsv.indexOf('\r\n')).split(',')).toEqual([
      'PermitNum',
      'StatusPrevious',
      'StatusPreviousMapped',
      'StatusPreviousDate',
      'Comments',
      'Jurisdiction',
    ]);

    const made = await runCli(
      ['jurisdictions', 'create', '--id', J, '--name', j!.name, '--state', j!.state, '--timezone', j!.timezone],
      target.env,
    );
    expect(made.stderr).toBe('');
    // a webhook listening to everything: old records must not be delivered to it as news
    await query(
      target,
      `insert into webhooks (client_id, jurisdiction_id, url, events, secret) values ('vendor-1', '${J}', 'https://example.org/hook',
          array['permit.submitted','permit.status_changed','inspection.scheduled','inspection.resulted'], 'whsec_test')`,
    );
    expect((await importInto(target, 'parcels', parcelsPath)).code).toBe(0);
    expect((await importInto(target, 'contractors', contractorsPath)).code).toBe(0);

    const args = ['permits', permitsPath, '--inspections', inspectionsPath, '--status-changes', statusPath, '--batch-size', '150'];
    // a dry run checks the inspections and status changes against the permits it would write, and writes nothing
    const dry = await importInto(target, ...args, '--dry-run');
    expect(dry.stderr).not.toMatch(/\.csv:\d+:/); // progress lines only, no refusal
    expect(dry.code).toBe(0);
    expect(dry.report).toMatchObject({ dryRun: true, refused: 0, batches: 0 });
    expect(dry.report.following).toMatchObject([
      { dataset: 'status-changes', dryRun: true, refused: 0, batches: 0 },
      { dataset: 'inspections', dryRun: true, refused: 0, batches: 0 },
    ]);
    expect(dry.report.following[1].inserted).toBe(sortedLines(inspectionsCsv).length - 1);
    for (const table of ['permits', 'permit_status_history', 'inspections', 'audit_pending'])
      expect(await query(target, `select 1 from ${table}`)).toHaveLength(0);
    expect(await query(target, `select 1 from audit_entries where entry->>'dataset' = 'permits'`)).toHaveLength(0);

    const first = await importInto(target, ...args);
    expect(first.stderr).not.toMatch(/\.csv:\d+:/);
    expect(first.code).toBe(0);
    expect(first.report).toMatchObject({ dataset: 'permits', refused: 0, unchanged: 0 });
    const [statusReport, inspectionReport] = first.report.following;
    expect(statusReport).toMatchObject({ dataset: 'status-changes', refused: 0, updated: 0, unchanged: 0 });
    expect(statusReport.inserted).toBe(sortedLines(statusCsv).length - 1);
    expect(inspectionReport).toMatchObject({ dataset: 'inspections', refused: 0, updated: 0, unchanged: 0 });
    expect(inspectionReport.inserted).toBe(sortedLines(inspectionsCsv).length - 1);

    expect(await exported(target, 'status-changes')).toBe(statusCsv);
    expect(sortedLines(await exported(target, 'inspections'))).toEqual(sortedLines(inspectionsCsv));
    // each imported status row knows the one before it, across batches, as the permit's history tells
    const chainSource = await query<{ num: string; chain: string }>(
      source,
      `select p.permit_num as num, string_agg(coalesce(h.from_status, '-') || '>' || h.to_status, ' ' order by h.changed_at, h.id) as chain
         from permit_status_history h join permits p on p.id = h.permit_id where p.jurisdiction_id = '${J}' group by 1 order by 1`,
    );
    const chainTarget = await query<{ num: string; chain: string }>(
      target,
      `select p.permit_num as num, string_agg(coalesce(h.from_status, '-') || '>' || h.to_status, ' ' order by h.changed_at, h.id) as chain
         from permit_status_history h join permits p on p.id = h.permit_id group by 1 order by 1`,
    );
    expect(chainTarget).toEqual(chainSource);

    expect(await query(target, 'select 1 from webhook_deliveries')).toHaveLength(0);
    const entries = await query<{ dataset: string; n: number }>(
      target,
      `select entry->>'dataset' as dataset, count(*)::int as n from audit_entries where entry->>'kind' = 'import' group by 1 order by 1`,
    );
    expect(entries).toContainEqual({ dataset: 'inspections', n: first.report.following[1].batches });
    expect(entries).toContainEqual({ dataset: 'status-changes', n: first.report.following[0].batches });
    expect(first.report.following[0].batches).toBeGreaterThan(1);
    // each new permit got its initial history row, and its imported history replaced every one of them
    const accounted = await query<{ dataset: string; history: number; replaced: number }>(
      target,
      `select entry->>'dataset' as dataset, sum(coalesce((entry->>'history')::int, 0))::int as history,
         sum(coalesce((entry->>'replaced')::int, 0))::int as replaced
       from audit_entries where entry->>'kind' = 'import' and entry->>'dataset' in ('permits', 'status-changes') group by 1 order by 1`,
    );
    expect(accounted).toEqual([
      { dataset: 'permits', history: first.report.inserted, replaced: 0 },
      { dataset: 'status-changes', history: 0, replaced: first.report.inserted },
    ]);

    const again = await importInto(target, ...args);
    expect(again.code).toBe(0);
    for (const r of [again.report, ...again.report.following]) expect(r).toMatchObject({ inserted: 0, updated: 0, refused: 0 });
    const alone = await importInto(target, 'inspections', inspectionsPath);
    expect(alone.report).toMatchObject({ inserted: 0, updated: 0, unchanged: sortedLines(inspectionsCsv).length - 1 });
    expect((await runCli(['audit', 'verify', '--json'], target.env)).code).toBe(0);
    // imported history is accounted for by the import entries: a row slipped in under the import's name is caught
    await query(
      target,
      `insert into permit_status_history (permit_id, to_status, actor) select id, 'ISSUED', 'import:legacy' from permits limit 1`,
    );
    const forged = await runCli(['audit', 'verify'], target.env);
    expect(forged.code).toBe(1);
    expect(forged.stdout + forged.stderr).toContain(
      `${sortedLines(statusCsv).length} imported status change(s) but import entries account for ${sortedLines(statusCsv).length - 1}`,
    );
    await query(target, `delete from permit_status_history where id = (select max(id) from permit_status_history)`);
  }, 900_000); // a dozen CLI runs, each opening the database: minutes on the shared machine

  test(
    'inspections: refused rows named FILE:LINE, nothing written without --skip-invalid, a changed result updates',
    async () => {
      const [p] = await query<{ num: string }>(target, `select permit_num as num from permits order by permit_num limit 1`);
      const num = p!.num;
      const path = file(
        'bad-inspections.csv',
        [
          'PermitNum,InspType,Result,ResultMapped,ScheduledDate,InspectedDate,Final,ReInspection,Inspector',
          `${num},Legacy framing,Approved,,2021-03-04,2021-03-04,N,N,insp-7`,
          'NOPE-1,Framing,PASS,,2021-03-04,2021-03-04,,,',
          `${num},Framing,Maybe,Sort of,2021-03-05,2021-03-05,,,`,
          `${num},Framing,PASS,,2021-02-30,,,,`,
          `${num},Framing,,,,,,,`,
          `${num},Framing,Scheduled,,2021-03-06,2021-03-06,,,`,
          `${num},Framing,PASS,,2021-03-07,2021-03-07,Perhaps,,`,
          `${num},Legacy framing,Failed,,2021-03-04T00:00:00-08:00,2021-03-04,,,`,
          `${num},,PASS,,2021-03-08,,,,`,
        ].join('\n'),
      );
      const before = await query<{ n: number }>(target, 'select count(*)::int as n from inspections');
      const r = await importInto(target, 'inspections', path);
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toEqual([
        `${path}:4: permit ${num}: Result "Maybe" (ResultMapped "Sort of") is neither one of PENDING, PASS, FAIL, PARTIAL, CANCELLED nor a BLDS ResultMapped value`,
        `${path}:5: permit ${num}: ScheduledDate "2021-02-30" is not a date (YYYY-MM-DD, or ISO 8601 date-time)`,
        `${path}:6: permit ${num}: ScheduledDate and InspectedDate are both empty (BLDS needs one of them)`,
        `${path}:7: permit ${num}: InspectedDate is set but Result "Scheduled" says it was not inspected`,
        `${path}:8: permit ${num}: Final "Perhaps" is not Y or N`,
        expect.stringMatching(
          new RegExp(`^${path}:9: duplicate inspection ${num} Legacy framing at .* \\(also at bad-inspections.csv:2\\)$`),
        ),
        `${path}:10: permit ${num}: InspType is empty`,
        `${path}:3: unknown permit PermitNum NOPE-1 in ${J} (import permits first)`,
      ]);
      expect(r.report).toMatchObject({ rows: 9, refused: 8, inserted: 0, complete: false });
      expect(await query(target, 'select count(*)::int as n from inspections')).toEqual(before);

      const ok = file(
        'one-inspection.csv',
        [
          'PermitNum,InspType,Result,ScheduledDate,InspectedDate,Final,Inspector',
          `${num},Legacy framing,Approved,2021-03-04,2021-03-05,Yes,insp-7`,
        ].join('\n'),
      );
      expect((await importInto(target, 'inspections', ok)).report).toMatchObject({ inserted: 1 });
      const [row] = await query<{ result: string; is_final: boolean; inspector: string; recorded: string; start: string; end: string }>(
        target,
        `select result, is_final, inspector, to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI') as recorded,
           to_char(window_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI') as start, to_char(window_end at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI') as "end"
         from inspections where inspection_type = 'Legacy framing'`,
      );
      // demo-city keeps Pacific time (UTC-8 in March 2021): the scheduled day books the whole local day
      expect(row).toEqual({
        result: 'PASS',
        is_final: true,
        inspector: 'insp-7',
        recorded: '2021-03-05T08:00',
        start: '2021-03-04T08:00',
        end: '2021-03-05T08:00',
      });
      const changed = file(
        'one-inspection-failed.csv',
        ['PermitNum,InspType,ResultMapped,ScheduledDate,InspectedDate', `${num},Legacy framing,Rejected,2021-03-04,2021-03-05`].join('\n'),
      );
      expect((await importInto(target, 'inspections', changed)).report).toMatchObject({ inserted: 0, updated: 1 });
      expect(await query(target, `select result from inspections where inspection_type = 'Legacy framing'`)).toEqual([{ result: 'FAIL' }]);

      // a file written by the earlier export (RequestedDate, its own ResultMapped words, Y/N) still imports
      const older = file(
        'older-export.csv',
        [
          'PermitNum,InspType,Result,ResultMapped,RequestedDate,ScheduledDate,InspectedDate,Final,ReInspection',
          `${num},Older partial,,Partial Pass,2021-03-20,2021-04-02,2021-04-02,Y,N`,
          `${num},Older pending,,Scheduled,2021-03-21,2021-04-03,,N,Y`,
        ].join('\n'),
      );
      expect((await importInto(target, 'inspections', older)).report).toMatchObject({ inserted: 2, refused: 0 });
      expect(
        await query(
          target,
          `select inspection_type as type, result, is_final as final, is_reinspection as re,
             to_char(created_at at time zone 'America/Los_Angeles', 'YYYY-MM-DD') as requested
           from inspections where inspection_type like 'Older %' order by 1`,
        ),
      ).toEqual([
        { type: 'Older partial', result: 'PARTIAL', final: true, re: false, requested: '2021-03-20' },
        // ReInspection (BLDS: a reinspection is needed) is checked, not stored: the result says it
        { type: 'Older pending', result: 'PENDING', final: false, re: false, requested: '2021-03-21' },
      ]);
      // and BLDS's own names and values, which the export now writes
      const blds = file(
        'blds-inspections.csv',
        [
          'PermitNum,InspType,Result,ResultMapped,RequestDate,ScheduledDate,InspectedDate,Final,ReInspection',
          `${num},BLDS partial,,Partial,2021-05-01,2021-05-02,2021-05-02,Yes,No`,
          `${num},BLDS service,,OK for Service,2021-05-03,2021-05-04,2021-05-04,No,No`,
        ].join('\n'),
      );
      expect((await importInto(target, 'inspections', blds)).report).toMatchObject({ inserted: 2, refused: 0 });
      expect(
        await query(
          target,
          `select inspection_type as type, result, is_final as final,
             to_char(created_at at time zone 'America/Los_Angeles', 'YYYY-MM-DD') as requested
           from inspections where inspection_type like 'BLDS %' order by 1`,
        ),
      ).toEqual([
        { type: 'BLDS partial', result: 'PARTIAL', final: true, requested: '2021-05-01' },
        { type: 'BLDS service', result: 'PASS', final: false, requested: '2021-05-03' },
      ]);
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'status changes: refusals by line; rows out of date order still chain; a changed comment updates',
    async () => {
      const [p] = await query<{ num: string }>(target, `select permit_num as num from permits order by permit_num desc limit 1`);
      const num = p!.num;
      const bad = file(
        'bad-status.csv',
        [
          'PermitNum,StatusPrevious,StatusPreviousMapped,StatusPreviousDate,Comments',
          `${num},Lost,Somewhere,2020-01-01,`,
          `${num},SUBMITTED,,01/02/2020,`,
          `${num},,,2020-01-03,`,
          'NOPE-2,SUBMITTED,,2020-01-04,',
          `${num},ISSUED,,,`,
        ].join('\n'),
      );
      const r = await importInto(target, 'status-changes', bad, '--skip-invalid');
      expect(r.code).toBe(0);
      expect(r.stderr.trim().split('\n')).toEqual([
        `${bad}:2: permit ${num}: StatusPrevious "Lost" (StatusPreviousMapped "Somewhere") is neither one of SUBMITTED, UNDER_REVIEW, CORRECTIONS_REQUIRED, APPROVED, ISSUED, INSPECTIONS, FINALED, EXPIRED, REJECTED, WITHDRAWN nor a BLDS StatusPreviousMapped value`,
        `${bad}:3: permit ${num}: StatusPreviousDate "01/02/2020" is not a date (YYYY-MM-DD, or ISO 8601 date-time)`,
        `${bad}:4: permit ${num}: StatusPrevious is empty`,
        `${bad}:6: permit ${num}: StatusPreviousDate is empty`,
        `${bad}:5: unknown permit PermitNum NOPE-2 in ${J} (import permits first)`,
      ]);
      expect(r.report).toMatchObject({ refused: 5, inserted: 0 });

      // a second legacy system's history for one permit, newest first and in its own vocabulary (StatusCurrent names)
      await query(target, `delete from permit_status_history where permit_id = (select id from permits where permit_num = '${num}')`);
      const history = file(
        'history.csv',
        [
          'PermitNum,StatusCurrent,StatusCurrentMapped,StatusDate,Comments',
          `${num},Final,Permit Finaled,2020-03-01,done`,
          `${num},Issued,Permit Issued,2020-02-01T10:15:00-08:00,`,
          `${num},Plan check,In Review,2020-01-15,`,
          `${num},Applied,,2020-01-02,`,
        ].join('\n'),
      );
      const h = await importInto(target, 'status-changes', history, '--batch-size', '2');
      expect(h.report).toMatchObject({ inserted: 4, refused: 0, batches: 2 });
      const chain = async () =>
        query<{ from_status: string | null; to_status: string; reason: string | null; day: string }>(
          target,
          `select from_status, to_status, reason, to_char(changed_at at time zone 'America/Los_Angeles', 'YYYY-MM-DD') as day from permit_status_history
           where permit_id = (select id from permits where permit_num = '${num}') order by changed_at`,
        );
      expect(await chain()).toEqual([
        { from_status: null, to_status: 'SUBMITTED', reason: null, day: '2020-01-02' },
        { from_status: 'SUBMITTED', to_status: 'UNDER_REVIEW', reason: null, day: '2020-01-15' },
        { from_status: 'UNDER_REVIEW', to_status: 'ISSUED', reason: null, day: '2020-02-01' },
        { from_status: 'ISSUED', to_status: 'FINALED', reason: 'done', day: '2020-03-01' },
      ]);
      const commented = file(
        'history-commented.csv',
        ['PermitNum,StatusCurrent,StatusDate,Comments', `${num},FINALED,2020-03-01,closed by clerk`].join('\n'),
      );
      expect((await importInto(target, 'status-changes', commented)).report).toMatchObject({ inserted: 0, updated: 1 });
      expect((await chain()).at(-1)?.reason).toBe('closed by clerk');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'applicant columns: stored as personal data, refused without echoing the value, kept by a file without them, never exported or audited',
    async () => {
      const [x] = await query<{ apn: string; lic: string }>(
        target,
        `select (select apn from parcels limit 1) as apn, (select license_number from contractors limit 1) as lic`,
      );
      const header = 'PermitNum,Description,AppliedDate,StatusCurrent,PermitType,WorkClass,EstProjectCost,PIN,ContractorLicNum';
      const row = (num: string) => `${num},Porch,2020-05-01,SUBMITTED,BUILDING,NEW,100,${x!.apn},${x!.lic}`;
      const withPii = file(
        'permits-pii.csv',
        [
          `${header},ApplicantName,ApplicantEmail,ApplicantPhone`,
          `${row('LEG-1')},Jane Roe,jane.roe@example.net,+1 555 010 2000`,
          `${row('LEG-2')},John Doe,john.doe-at-example.net,+1 555 010 3000`,
          `${row('LEG-3')},Ann Poe,ann@example.net,call me`,
        ].join('\n'),
      );
      const r = await importInto(target, 'permits', withPii, '--skip-invalid');
      expect(r.report).toMatchObject({ inserted: 1, refused: 2 });
      expect(r.stderr).toContain(`${withPii}:3: permit LEG-2: ApplicantEmail is not an email address`);
      expect(r.stderr).toContain(`${withPii}:4: permit LEG-3: ApplicantPhone is not a phone number`);
      expect(r.stderr + r.stdout).not.toContain('john.doe');
      expect(r.stderr + r.stdout).not.toContain('call me');
      const applicant = () =>
        query<{ n: string; e: string; p: string }>(
          target,
          `select applicant_name as n, applicant_email as e, applicant_phone as p from permits where permit_num = 'LEG-1'`,
        );
      expect(await applicant()).toEqual([{ n: 'Jane Roe', e: 'jane.roe@example.net', p: '+1 555 010 2000' }]);

      // the BLDS file of the same permits, without applicant columns, changes nothing
      const withoutPii = file('permits-no-pii.csv', [header, row('LEG-1')].join('\n'));
      expect((await importInto(target, 'permits', withoutPii)).report).toMatchObject({ unchanged: 1, updated: 0 });
      expect(await applicant()).toEqual([{ n: 'Jane Roe', e: 'jane.roe@example.net', p: '+1 555 010 2000' }]);
      const moved = file('permits-moved.csv', [`${header},ApplicantEmail`, `${row('LEG-1')},jane@example.net`].join('\n'));
      expect((await importInto(target, 'permits', moved)).report).toMatchObject({ updated: 1 });
      expect((await applicant())[0]).toEqual({ n: 'Jane Roe', e: 'jane@example.net', p: '+1 555 010 2000' });

      const everything = [
        await exported(target, 'permits'),
        await exported(target, 'status-changes'),
        await exported(target, 'inspections'),
      ].join('');
      const audit = JSON.stringify(await query(target, `select entry from audit_entries`));
      for (const text of [everything, audit]) {
        for (const pii of ['Jane Roe', 'jane@example.net', 'jane.roe@example.net', '555 010']) expect(text).not.toContain(pii);
      }
      expect(everything).toContain('LEG-1');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'a permit imported without status history has one initial row, which its imported status changes replace; audit verify holds',
    async () => {
      const [x] = await query<{ apn: string; lic: string }>(
        target,
        `select (select apn from parcels limit 1) as apn, (select license_number from contractors limit 1) as lic`,
      );
      const permitsPath = file(
        'permits-without-history.csv',
        [
          'PermitNum,Description,AppliedDate,IssuedDate,StatusCurrent,PermitType,WorkClass,EstProjectCost,PIN,ContractorLicNum',
          `LEG-H1,Deck,2021-06-01,2021-06-20,Permit Issued,BUILDING,NEW,100,${x!.apn},${x!.lic}`,
          `LEG-H2,Shed,2021-07-01,,SUBMITTED,BUILDING,NEW,100,${x!.apn},${x!.lic}`,
        ].join('\n'),
      );
      const deliveriesBefore = await query(target, 'select 1 from webhook_deliveries');
      const r = await importInto(target, 'permits', permitsPath);
      expect(r.report).toMatchObject({ inserted: 2, refused: 0 });
      const history = (num: string) =>
        query<{ from_status: string | null; to_status: string; actor: string; reason: string | null; day: string }>(
          target,
          `select from_status, to_status, actor, reason, to_char(changed_at at time zone 'America/Los_Angeles', 'YYYY-MM-DD') as day
           from permit_status_history where permit_id = (select id from permits where permit_num = '${num}') order by changed_at, id`,
        );
      const initial = { from_status: null, actor: 'import:legacy', reason: 'status at import (no history imported)' };
      // its status at its status date (here the day it was issued), or at the day it was applied for
      expect(await history('LEG-H1')).toEqual([{ ...initial, to_status: 'ISSUED', day: '2021-06-20' }]);
      expect(await history('LEG-H2')).toEqual([{ ...initial, to_status: 'SUBMITTED', day: '2021-07-01' }]);
      // old records are not news: no webhook delivery for the rows
      expect(await query(target, 'select 1 from webhook_deliveries')).toEqual(deliveriesBefore);
      const [entry] = await query<{ history: string }>(
        target,
        `select entry->>'history' as history from audit_entries where entry->>'file' = 'permits-without-history.csv'`,
      );
      expect(entry).toEqual({ history: '2' });
      // the status-changes export shows it, so a permit's history is never empty there either
      const statusExport = await exported(target, 'status-changes');
      expect(statusExport).toContain(`LEG-H1,ISSUED,Permit Issued,2021-06-20,status at import (no history imported),${J}`);
      // a rerun writes no second row
      expect((await importInto(target, 'permits', permitsPath)).report).toMatchObject({ inserted: 0, unchanged: 2 });
      expect(await history('LEG-H1')).toHaveLength(1);
      const verified = await runCli(['audit', 'verify', '--json'], target.env);
      expect(verified.stdout + verified.stderr).not.toContain('imported status change');
      expect(verified.code).toBe(0);

      // the legacy system's history arrives later: it replaces the initial row of that permit only
      const statusPath = file(
        'history-later.csv',
        ['PermitNum,StatusPrevious,StatusPreviousDate', 'LEG-H1,SUBMITTED,2021-06-01', 'LEG-H1,ISSUED,2021-06-20'].join('\n'),
      );
      expect((await importInto(target, 'status-changes', statusPath)).report).toMatchObject({ inserted: 2, refused: 0 });
      expect(await history('LEG-H1')).toEqual([
        { from_status: null, to_status: 'SUBMITTED', actor: 'import:legacy', reason: null, day: '2021-06-01' },
        { from_status: 'SUBMITTED', to_status: 'ISSUED', actor: 'import:legacy', reason: null, day: '2021-06-20' },
      ]);
      expect(await history('LEG-H2')).toEqual([{ ...initial, to_status: 'SUBMITTED', day: '2021-07-01' }]);
      const [replaced] = await query<{ replaced: string }>(
        target,
        `select entry->>'replaced' as replaced from audit_entries where entry->>'file' = 'history-later.csv'`,
      );
      expect(replaced).toEqual({ replaced: '1' });
      expect((await runCli(['audit', 'verify', '--json'], target.env)).code).toBe(0);
    },
    CLI_TEST_TIMEOUT,
  );
});
