/**
 * The permits that legacy inspections and status changes belong to, looked up by PermitNum within the jurisdiction
 * in one statement per batch: a row naming a permit the jurisdiction does not have is refused, never attached to
 * another tenant's permit of the same number.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';
import type { Jurisdiction } from '../db/schema/jurisdictions.ts';

export interface PermitRef {
  permit_num: string;
  permit_id?: string;
}

/** Sets `permit_id` on each row whose permit exists; returns the refusals of the others by index. */
export async function resolvePermitNumbers(db: Executor, j: Jurisdiction, rows: PermitRef[]): Promise<Map<number, string>> {
  const nums = [...new Set(rows.map((r) => r.permit_num))];
  const ids = new Map(
    rowsOf<{ num: string; id: string }>(
      await db.execute(
        sql`select permit_num as num, id::text as id from permits where jurisdiction_id = ${j.id} and permit_num in (select jsonb_array_elements_text(${JSON.stringify(nums)}::jsonb))`,
      ),
    ).map((r) => [r.num, r.id]),
  );
  const refused = new Map<number, string>();
  rows.forEach((r, i) => {
    const id = ids.get(r.permit_num);
    if (id) r.permit_id = id;
    else refused.set(i, `unknown permit PermitNum ${r.permit_num} in ${j.id} (import permits first)`);
  });
  return refused;
}

/** BLDS yes/no flags (`Final`, `ReInspection`): Y/N, Yes/No, true/false, 1/0; empty is `null` (not given). */
export function parseFlag(text: string): boolean | null | 'invalid' {
  const t = text.trim().toLowerCase();
  if (t === '') return null;
  if (['y', 'yes', 'true', '1'].includes(t)) return true;
  if (['n', 'no', 'false', '0'].includes(t)) return false;
  return 'invalid';
}

/** True when a legacy date is a calendar day without a time of day. */
export const isDayOnly = (text: string) => /^\d{4}-\d{2}-\d{2}$/.test(text);
