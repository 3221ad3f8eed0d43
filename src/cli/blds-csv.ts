/** CSV output shared by the BLDS exports: RFC 4180 cells, written in pages so memory stays flat. */
import type { Output } from './io.ts';

const PAGE = 1000;

export type CsvValue = string | number | null;

/**
 * One CSV cell (RFC 4180). Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a
 * leading apostrophe (OWASP CSV injection); numbers are written as they are.
 */
export function csvCell(value: CsvValue): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Writes the header and one line per record, in `columns` order; returns the number of records. */
export async function writeCsv<C extends string>(
  out: Output,
  columns: readonly C[],
  records: AsyncIterable<Record<C, CsvValue>>,
): Promise<number> {
  let n = 0;
  let chunk = `${columns.join(',')}\r\n`;
  for await (const r of records) {
    chunk += `${columns.map((c) => csvCell(r[c])).join(',')}\r\n`;
    if (++n % PAGE === 0) {
      await out.write(chunk);
      chunk = '';
    }
  }
  await out.write(chunk);
  return n;
}
