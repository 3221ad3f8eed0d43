/** `jurisdictions create|list`: the tenants a city's data and clients belong to. */
import { createJurisdiction, JurisdictionInputError, listJurisdictions } from '../import/jurisdictions.ts';
import type { Jurisdiction } from '../db/schema/jurisdictions.ts';
import type { Command } from './command.ts';
import { withDatabase } from './database.ts';
import { CliError, ExitCode, parseOptions, required, table, usageError } from './io.ts';

const view = (j: Jurisdiction) => ({
  id: j.id,
  name: j.name,
  state: j.state,
  timezone: j.timezone,
  permitPrefix: j.permitPrefix,
  createdAt: j.createdAt.toISOString(),
});

export const jurisdictionsCreate: Command = {
  name: 'jurisdictions create',
  summary: 'create a jurisdiction (tenant): the first step for a new city',
  help: `Usage: cli jurisdictions create --id J --name NAME --state ST [--timezone TZ] [--permit-prefix P] [--json]

Creates the tenant that a city's parcels, contractors, permits and clients belong to.
  --id J             slug, 2-63 characters of a-z 0-9 - (e.g. springfield-il)
  --name NAME        display name (e.g. "City of Springfield")
  --state ST         two-letter US state code (e.g. IL)
  --timezone TZ      IANA time zone (default UTC; e.g. America/Chicago)
  --permit-prefix P  prefix of new permit numbers, 1-8 letters/digits (default: the id's initials, e.g. SI)
  --json             machine-readable output`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, {
      id: { type: 'string' },
      name: { type: 'string' },
      state: { type: 'string' },
      timezone: { type: 'string' },
      'permit-prefix': { type: 'string' },
    });
    const input = {
      id: required(o.id, '--id'),
      name: required(o.name, '--name'),
      state: required(o.state, '--state'),
      timezone: o.timezone,
      permitPrefix: o['permit-prefix'],
    };
    let created: Jurisdiction;
    try {
      created = await withDatabase(config(), ({ db }) => createJurisdiction(db, input));
    } catch (err) {
      // a bad value is the command line's fault (exit 2); a taken id or prefix is a failure (exit 1)
      if (err instanceof JurisdictionInputError) {
        const message = err.problems.map((p) => `--${p}`).join('; ');
        throw err.problems.every((p) => p.includes('already exists') || p.includes('is used by'))
          ? new CliError(message)
          : usageError(message);
      }
      throw err;
    }
    await out.result(
      view(created),
      () =>
        `Created jurisdiction ${created.id} (${created.name}, ${created.state}, ${created.timezone}); permit numbers start with ${created.permitPrefix}-.`,
    );
    return ExitCode.OK;
  },
};

export const jurisdictionsList: Command = {
  name: 'jurisdictions list',
  summary: 'list jurisdictions',
  help: `Usage: cli jurisdictions list [--json]

Lists every jurisdiction with its state, time zone and permit-number prefix.`,
  async run(argv, { out, config }) {
    parseOptions(argv, {});
    const rows = (await withDatabase(config(), ({ db }) => listJurisdictions(db))).map(view);
    await out.result(rows, () =>
      rows.length === 0
        ? 'No jurisdictions yet: create one with `bun run cli jurisdictions create`.'
        : table(
            ['ID', 'NAME', 'STATE', 'TIMEZONE', 'PREFIX', 'CREATED'],
            rows.map((j) => [j.id, j.name, j.state ?? '-', j.timezone, j.permitPrefix, j.createdAt]),
          ),
    );
    return ExitCode.OK;
  },
};
