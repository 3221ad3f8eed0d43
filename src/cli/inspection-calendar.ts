/**
 * `jurisdictions capacity [list|remove]` and `jurisdictions holidays add|list|remove`: the inspection calendar an
 * operator sets for a jurisdiction (inspectors, working hours, slot length, workdays, cut-off; per inspection type or
 * as the jurisdiction's default; and the days nobody inspects), which `inspectionAvailability` and
 * `scheduleInspection` read. Rules and checks live in src/domain/inspection-calendar-settings.ts.
 */
import {
  addHoliday,
  CalendarInputError,
  type CapacityView,
  checkCapacityChange,
  checkHoliday,
  type HolidayView,
  listCapacity,
  listHolidays,
  removeCapacity,
  removeHoliday,
  setCapacity,
  UnknownJurisdictionError,
} from '../domain/inspection-calendar-settings.ts';
import type { Command } from './command.ts';
import { withDatabase } from './database.ts';
import { CliError, ExitCode, parseOptions, required, table, usageError } from './io.ts';

/** Bad values are the command line's fault (exit 2, each naming its flag); an unknown jurisdiction is a failure (exit 1). */
function cliErrorOf(err: unknown): unknown {
  if (err instanceof CalendarInputError) return usageError(err.problems.map((p) => (p.startsWith('nothing') ? p : `--${p}`)).join('; '));
  if (err instanceof UnknownJurisdictionError) return new CliError(err.message);
  return err;
}

async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw cliErrorOf(err);
  }
}

const typeLabel = (t: string | null) => t ?? '(default)';
const capacityText = (c: CapacityView) =>
  `${c.inspectors} inspector(s), ${c.hours}, ${c.slotMinutes}-minute slots, workdays ${c.workdays.join(',')}, cut-off ${c.cutoffHours} h`;

export const jurisdictionsCapacity: Command = {
  name: 'jurisdictions capacity',
  summary: "set a jurisdiction's inspection capacity, its default or one inspection type's",
  help: `Usage: cli jurisdictions capacity --jurisdiction J [--inspection-type T] [--inspectors N] [--hours HH:MM-HH:MM]
                                  [--slot-minutes M] [--workdays DAYS] [--cutoff-hours H] [--json]

Sets how many inspections a jurisdiction can take: the slots inspectionAvailability offers and scheduleInspection
books. Without --inspection-type it sets the jurisdiction's default, which every inspection type without capacity of
its own shares; with it, that type gets inspectors of its own (types are matched ignoring case). Options left out keep
their value; a new row starts from what the type got until now (the default row, else the built-in default: 2
inspectors, 08:00-16:00, 120-minute slots, workdays 1-5, cut-off 24 h).
  --jurisdiction J     the jurisdiction's id
  --inspection-type T  e.g. Final (default: the jurisdiction's default capacity)
  --inspectors N       inspections a slot has room for, 1-1000
  --hours HH:MM-HH:MM  the working day, local time in the jurisdiction's time zone
  --slot-minutes M     slot length, 5-1440 minutes, at most the working day
  --workdays DAYS      ISO weekdays, 1 Monday … 7 Sunday: 1-5 or 1,2,3,4,5
  --cutoff-hours H     how long before a slot a contractor can still book or change it, 0-8760
  --json               machine-readable output
See the capacity: cli jurisdictions capacity list --jurisdiction J`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, {
      jurisdiction: { type: 'string' },
      'inspection-type': { type: 'string' },
      inspectors: { type: 'string' },
      hours: { type: 'string' },
      'slot-minutes': { type: 'string' },
      workdays: { type: 'string' },
      'cutoff-hours': { type: 'string' },
    });
    const jurisdiction = required(o.jurisdiction, '--jurisdiction');
    const change = {
      inspectors: o.inspectors,
      hours: o.hours,
      slotMinutes: o['slot-minutes'],
      workdays: o.workdays,
      cutoffHours: o['cutoff-hours'],
    };
    const saved = await guarded(async () => {
      checkCapacityChange(o['inspection-type'], change);
      return withDatabase(config(), ({ db }) => setCapacity(db, jurisdiction, o['inspection-type'], change));
    });
    await out.result(saved, () => `Inspection capacity of ${jurisdiction} ${typeLabel(saved.inspectionType)}: ${capacityText(saved)}.`);
    return ExitCode.OK;
  },
};

export const jurisdictionsCapacityList: Command = {
  name: 'jurisdictions capacity list',
  summary: "a jurisdiction's inspection capacity: its default and each inspection type's",
  help: `Usage: cli jurisdictions capacity list --jurisdiction J [--json]

Lists the jurisdiction's default capacity (SOURCE built-in when it has not set one) and every inspection type that
has capacity of its own.`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, { jurisdiction: { type: 'string' } });
    const jurisdiction = required(o.jurisdiction, '--jurisdiction');
    const rows = await guarded(() => withDatabase(config(), ({ db }) => listCapacity(db, jurisdiction)));
    await out.result(rows, () =>
      table(
        ['TYPE', 'INSPECTORS', 'HOURS', 'SLOT', 'WORKDAYS', 'CUTOFF', 'SOURCE'],
        rows.map((c) => [
          typeLabel(c.inspectionType),
          String(c.inspectors),
          c.hours,
          `${c.slotMinutes} min`,
          c.workdays.join(','),
          `${c.cutoffHours} h`,
          c.source,
        ]),
      ),
    );
    return ExitCode.OK;
  },
};

export const jurisdictionsCapacityRemove: Command = {
  name: 'jurisdictions capacity remove',
  summary: 'remove the capacity of one inspection type (it shares the default again) or the default',
  help: `Usage: cli jurisdictions capacity remove --jurisdiction J [--inspection-type T] [--json]

Removes the capacity row of inspection type T, which then shares the jurisdiction's default again; without
--inspection-type, the jurisdiction's default row (the built-in default applies again). Exits 1 when there is none.`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, { jurisdiction: { type: 'string' }, 'inspection-type': { type: 'string' } });
    const jurisdiction = required(o.jurisdiction, '--jurisdiction');
    const type = o['inspection-type'];
    const removed = await guarded(() => withDatabase(config(), ({ db }) => removeCapacity(db, jurisdiction, type)));
    const what = type === undefined ? 'default inspection capacity' : `inspection capacity of type ${type}`;
    if (!removed) throw new CliError(`${jurisdiction} has no ${what} set`);
    await out.result({ jurisdiction, inspectionType: type ?? null, removed }, () => `Removed the ${what} of ${jurisdiction}.`);
    return ExitCode.OK;
  },
};

const holidayText = (h: HolidayView) => `${h.date} (${h.name})`;

export const jurisdictionsHolidaysAdd: Command = {
  name: 'jurisdictions holidays add',
  summary: 'add a day on which nobody inspects (no slots that day, for any inspection type)',
  help: `Usage: cli jurisdictions holidays add --jurisdiction J --date YYYY-MM-DD [--name NAME] [--json]

Adds a holiday, a local calendar day in the jurisdiction's time zone: inspectionAvailability offers no slot on it and
scheduleInspection refuses it. Adding a day that is already a holiday renames it.
  --name NAME  what the day is (default "Holiday"), 1-200 characters`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, { jurisdiction: { type: 'string' }, date: { type: 'string' }, name: { type: 'string' } });
    const jurisdiction = required(o.jurisdiction, '--jurisdiction');
    const date = required(o.date, '--date');
    const added = await guarded(async () => {
      checkHoliday(date, o.name);
      return withDatabase(config(), ({ db }) => addHoliday(db, jurisdiction, date, o.name));
    });
    await out.result(added, () => `Holiday in ${jurisdiction}: ${holidayText(added)}; no inspections that day.`);
    return ExitCode.OK;
  },
};

export const jurisdictionsHolidaysList: Command = {
  name: 'jurisdictions holidays list',
  summary: "a jurisdiction's holidays",
  help: `Usage: cli jurisdictions holidays list --jurisdiction J [--from YYYY-MM-DD] [--json]

Lists the jurisdiction's holidays in date order (from --from on, when given).`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, { jurisdiction: { type: 'string' }, from: { type: 'string' } });
    const jurisdiction = required(o.jurisdiction, '--jurisdiction');
    const rows = await guarded(() => withDatabase(config(), ({ db }) => listHolidays(db, jurisdiction, o.from)));
    await out.result(rows, () =>
      rows.length === 0
        ? `No holidays in ${jurisdiction}: add one with \`bun run cli jurisdictions holidays add\`.`
        : table(
            ['DATE', 'NAME'],
            rows.map((h) => [h.date, h.name]),
          ),
    );
    return ExitCode.OK;
  },
};

export const jurisdictionsHolidaysRemove: Command = {
  name: 'jurisdictions holidays remove',
  summary: 'remove a holiday (its day has slots again)',
  help: `Usage: cli jurisdictions holidays remove --jurisdiction J --date YYYY-MM-DD [--json]

Removes a holiday; exits 1 when the jurisdiction has none on that day.`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, { jurisdiction: { type: 'string' }, date: { type: 'string' } });
    const jurisdiction = required(o.jurisdiction, '--jurisdiction');
    const date = required(o.date, '--date');
    const removed = await guarded(async () => {
      checkHoliday(date, undefined);
      return withDatabase(config(), ({ db }) => removeHoliday(db, jurisdiction, date));
    });
    if (!removed) throw new CliError(`${jurisdiction} has no holiday on ${date}`);
    await out.result({ jurisdiction, date, removed }, () => `Removed the holiday of ${date} in ${jurisdiction}.`);
    return ExitCode.OK;
  },
};
