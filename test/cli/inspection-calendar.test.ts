/**
 * Issue 24: an operator sets a jurisdiction's inspection capacity (its default and per inspection type) and its
 * holidays with the CLI, which the slot calendar then reads; bad values are usage errors naming each flag, and an
 * unknown jurisdiction or a missing row is a failure, with nothing written.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { loadCalendar } from '../../src/domain/inspection-capacity.ts';
import { CLI_HOOK_TIMEOUT, CLI_TEST_TIMEOUT, createCliDatabase, runCli, type CliDatabase } from './support.ts';

let cdb: CliDatabase;
beforeAll(async () => {
  cdb = await createCliDatabase();
}, CLI_HOOK_TIMEOUT);
afterAll(async () => {
  await cdb?.drop();
}, CLI_HOOK_TIMEOUT);

const cli = (...args: string[]) => runCli(args, cdb.env);
const json = async (...args: string[]) => {
  const r = await cli(...args, '--json');
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(r.stdout);
};

/** What the slot calendar reads for a type, from the database the CLI wrote (closed again for the next CLI run). */
async function calendarOf(type: string) {
  const database = await cdb.open();
  try {
    const day = new Date('2030-01-07T12:00:00Z');
    return await loadCalendar(database.db, 'demo-city', type, day, day);
  } finally {
    await database.close();
  }
}

describe('cli jurisdictions capacity', () => {
  test(
    'sets the default and one type, lists both; the slot calendar reads them',
    async () => {
      expect(await json('jurisdictions', 'capacity', 'list', '--jurisdiction', 'demo-city')).toEqual([
        {
          jurisdiction: 'demo-city',
          inspectionType: null,
          inspectors: 2,
          hours: '08:00-16:00',
          slotMinutes: 120,
          workdays: [1, 2, 3, 4, 5],
          cutoffHours: 24,
          source: 'built-in',
        },
      ]);

      const def = await json('jurisdictions', 'capacity', '--jurisdiction', 'demo-city', '--inspectors', '3', '--hours', '07:00-15:00');
      expect(def).toMatchObject({ inspectionType: null, inspectors: 3, hours: '07:00-15:00', slotMinutes: 120, source: 'set' });
      // a new type row starts from the default row: only what differs needs saying
      const fin = await json(
        'jurisdictions',
        'capacity',
        '--jurisdiction',
        'demo-city',
        '--inspection-type',
        'Final',
        '--inspectors',
        '1',
        '--slot-minutes',
        '240',
        '--workdays',
        '1-3,5',
        '--cutoff-hours',
        '48',
      );
      expect(fin).toEqual({
        jurisdiction: 'demo-city',
        inspectionType: 'final',
        inspectors: 1,
        hours: '07:00-15:00',
        slotMinutes: 240,
        workdays: [1, 2, 3, 5],
        cutoffHours: 48,
        source: 'set',
      });
      const listed = await cli('jurisdictions', 'capacity', 'list', '--jurisdiction', 'demo-city');
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/\(default\)\s+3\s+07:00-15:00\s+120 min\s+1,2,3,4,5\s+24 h\s+set/);
      expect(listed.stdout).toMatch(/final\s+1\s+07:00-15:00\s+240 min\s+1,2,3,5\s+48 h\s+set/);

      // the slot calendar reads them: finals their own row, every other type the default
      expect((await calendarOf('FINAL')).capacity).toMatchObject({ inspectors: 1, slotMinutes: 240, cutoffHours: 48 });
      expect((await calendarOf('Framing')).capacity).toMatchObject({ inspectors: 3, dayStart: '07:00', slotMinutes: 120 });
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'refuses bad values naming each flag, and an unknown jurisdiction, writing nothing',
    async () => {
      const bad = await cli(
        'jurisdictions',
        'capacity',
        '--jurisdiction',
        'demo-city',
        '--inspectors',
        '0',
        '--hours',
        '9-5',
        '--slot-minutes',
        'ten',
        '--workdays',
        '0-8',
        '--cutoff-hours=-1',
      );
      expect(bad.code).toBe(2);
      for (const flag of ['--inspectors: "0"', '--hours: "9-5"', '--slot-minutes: "ten"', '--workdays: "0-8"', '--cutoff-hours: "-1"'])
        expect(bad.stderr).toContain(flag);
      const tooLong = await cli('jurisdictions', 'capacity', '--jurisdiction', 'demo-city', '--slot-minutes', '600', '--json');
      expect(tooLong.code).toBe(2);
      expect(JSON.parse(tooLong.stdout).error.message).toContain('--slot-minutes: 600 minutes do not fit in the working day 07:00-15:00');
      const backwards = await cli('jurisdictions', 'capacity', '--jurisdiction', 'demo-city', '--hours', '16:00-08:00');
      expect(backwards.code).toBe(2);
      expect(backwards.stderr).toContain('--hours: the day must end after it starts');
      const nothing = await cli('jurisdictions', 'capacity', '--jurisdiction', 'demo-city');
      expect(nothing.code).toBe(2);
      expect(nothing.stderr).toContain('nothing to set');
      const missing = await cli('jurisdictions', 'capacity', '--inspectors', '2');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('--jurisdiction is required');
      const unknown = await cli('jurisdictions', 'capacity', '--jurisdiction', 'atlantis', '--inspectors', '2');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('jurisdiction atlantis does not exist');
      // nothing of the refused commands was written
      expect((await calendarOf('Framing')).capacity).toMatchObject({ inspectors: 3, slotMinutes: 120, cutoffHours: 24 });
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'removes a type, which then shares the default again',
    async () => {
      expect(await json('jurisdictions', 'capacity', 'remove', '--jurisdiction', 'demo-city', '--inspection-type', 'final')).toEqual({
        jurisdiction: 'demo-city',
        inspectionType: 'final',
        removed: true,
      });
      expect((await calendarOf('Final')).capacity).toMatchObject({ inspectors: 3, slotMinutes: 120 });
      const again = await cli('jurisdictions', 'capacity', 'remove', '--jurisdiction', 'demo-city', '--inspection-type', 'final');
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('demo-city has no inspection capacity of type final set');
    },
    CLI_TEST_TIMEOUT,
  );
});

describe('cli jurisdictions holidays', () => {
  test(
    'adds, renames and lists holidays; the calendar has no slots on them',
    async () => {
      expect(
        await json('jurisdictions', 'holidays', 'add', '--jurisdiction', 'demo-city', '--date', '2030-01-07', '--name', 'Founders Day'),
      ).toEqual({
        jurisdiction: 'demo-city',
        date: '2030-01-07',
        name: 'Founders Day',
      });
      expect((await calendarOf('Framing')).holidays.has('2030-01-07')).toBe(true);
      await json(
        'jurisdictions',
        'holidays',
        'add',
        '--jurisdiction',
        'demo-city',
        '--date',
        '2030-01-07',
        '--name',
        'Founders Day (observed)',
      );
      const listed = await json('jurisdictions', 'holidays', 'list', '--jurisdiction', 'demo-city', '--from', '2030-01-01');
      expect(listed).toEqual([{ jurisdiction: 'demo-city', date: '2030-01-07', name: 'Founders Day (observed)' }]);
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'refuses bad dates and an unknown jurisdiction; removes a holiday',
    async () => {
      for (const date of ['2030-02-30', '07/01/2030', 'tomorrow']) {
        const bad = await cli('jurisdictions', 'holidays', 'add', '--jurisdiction', 'demo-city', '--date', date);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toContain(`--date: "${date}" must be a calendar day written YYYY-MM-DD`);
      }
      const noDate = await cli('jurisdictions', 'holidays', 'remove', '--jurisdiction', 'demo-city');
      expect(noDate.code).toBe(2);
      expect(noDate.stderr).toContain('--date is required');
      const unknown = await cli('jurisdictions', 'holidays', 'add', '--jurisdiction', 'atlantis', '--date', '2030-01-08');
      expect(unknown.code).toBe(1);
      const group = await cli('jurisdictions', 'holidays');
      expect(group.code).toBe(2);
      expect(group.stderr).toContain('one of: add, list, remove');

      expect(await json('jurisdictions', 'holidays', 'remove', '--jurisdiction', 'demo-city', '--date', '2030-01-07')).toEqual({
        jurisdiction: 'demo-city',
        date: '2030-01-07',
        removed: true,
      });
      expect((await calendarOf('Framing')).holidays.has('2030-01-07')).toBe(false);
      const again = await cli('jurisdictions', 'holidays', 'remove', '--jurisdiction', 'demo-city', '--date', '2030-01-07');
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('demo-city has no holiday on 2030-01-07');
    },
    CLI_TEST_TIMEOUT,
  );
});
