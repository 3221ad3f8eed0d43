/**
 * Tenants, created by the operator before anything else of a city can exist (`cli jurisdictions create|list`).
 * Checks every field at once so a city's IT person fixes the command line in one go.
 */
import { asc, eq, or } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { jurisdictions, type Jurisdiction } from '../db/schema/jurisdictions.ts';

/** USPS codes of the states, DC and the territories: a permit system's addresses use these. */
const US_STATES = new Set(
  'AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI'.split(
    ' ',
  ),
);

export interface NewJurisdiction {
  id: string;
  name: string;
  state: string;
  timezone?: string | undefined;
  permitPrefix?: string | undefined;
}

/** Refused input: `problems` names each bad field (`id: …`). */
export class JurisdictionInputError extends Error {
  override name = 'JurisdictionInputError';
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

export const isUsState = (s: string) => US_STATES.has(s.toUpperCase());

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The default permit-number prefix: initials of a multi-word id (`demo-city` → `DC`), else its first 3 letters. */
export function defaultPermitPrefix(id: string): string {
  const words = id.split(/[-_.]+/).filter(Boolean);
  const raw = words.length > 1 ? words.map((w) => w[0]).join('') : (words[0] ?? '').slice(0, 3);
  return raw
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '')
    .slice(0, 8);
}

/** The row to insert, or every problem with the input. */
export function checkNewJurisdiction(j: NewJurisdiction): typeof jurisdictions.$inferInsert {
  const problems: string[] = [];
  if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(j.id))
    problems.push(`id: "${j.id}" must be 2-63 characters of a-z 0-9 - (a slug, e.g. springfield-il)`);
  const name = j.name.trim();
  if (name.length === 0 || name.length > 200) problems.push('name: must be 1-200 characters');
  if (!isUsState(j.state)) problems.push(`state: "${j.state}" is not a two-letter US state code (e.g. IL)`);
  const timezone = j.timezone ?? 'UTC';
  if (!isTimeZone(timezone)) problems.push(`timezone: "${timezone}" is not an IANA time zone (e.g. America/Chicago)`);
  const permitPrefix = (j.permitPrefix ?? defaultPermitPrefix(j.id)).toUpperCase();
  if (!/^[A-Z][A-Z0-9]{0,7}$/.test(permitPrefix))
    problems.push(`permit-prefix: "${permitPrefix}" must be 1-8 letters or digits, starting with a letter`);
  if (problems.length) throw new JurisdictionInputError(problems);
  return { id: j.id, name, state: j.state.toUpperCase(), timezone, permitPrefix };
}

/** Creates a jurisdiction; refuses an id or a permit prefix that is taken, naming which. */
export async function createJurisdiction(db: Executor, input: NewJurisdiction): Promise<Jurisdiction> {
  const row = checkNewJurisdiction(input);
  const taken = await db
    .select({ id: jurisdictions.id, permitPrefix: jurisdictions.permitPrefix })
    .from(jurisdictions)
    .where(or(eq(jurisdictions.id, row.id), eq(jurisdictions.permitPrefix, row.permitPrefix)));
  const problems = taken.map((t) =>
    t.id === row.id
      ? `id: jurisdiction ${row.id} already exists`
      : `permit-prefix: ${row.permitPrefix} is used by ${t.id} (choose another with --permit-prefix)`,
  );
  if (problems.length) throw new JurisdictionInputError(problems);
  const [created] = await db.insert(jurisdictions).values(row).returning();
  return created!;
}

export const listJurisdictions = (db: Executor): Promise<Jurisdiction[]> => db.select().from(jurisdictions).orderBy(asc(jurisdictions.id));
