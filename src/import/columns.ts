/** Reading named columns of a CSV row or GeoJSON properties: names are case-insensitive, values trimmed. */
import { csvRecords, CsvFormatError } from './csv-records.ts';
import type { SourceItem } from './run-import.ts';
import { ImportFileError } from './source-file.ts';

export type Fields = Record<string, string>;

/** Lower-cased keys, string values (numbers from GeoJSON properties become text; null and absent are ''). */
export function normalizeFields(raw: unknown): Fields {
  const out: Fields = {};
  if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw))
      if (v !== null && v !== undefined) out[k.toLowerCase()] = typeof v === 'object' ? JSON.stringify(v) : String(v).trim();
  }
  return out;
}

/** The CSV file's rows as import items; a missing required column stops the import before any row. */
export async function* csvItems(path: string, chunks: AsyncIterable<string>, required: readonly string[]): AsyncGenerator<SourceItem> {
  try {
    for await (const r of csvRecords(chunks, (names) => {
      const missing = required.filter((c) => !names.includes(c.toLowerCase()));
      if (missing.length) throw new ImportFileError(`${path}:1: missing column(s) ${missing.join(', ')} (found: ${names.join(', ')})`);
    })) {
      if (r.extra > 0) yield { at: r.line, reason: `${r.extra} more field(s) than the header has columns (an unquoted comma?)` };
      else yield { at: r.line, input: normalizeFields(r.values) };
    }
  } catch (err) {
    if (err instanceof CsvFormatError) throw new ImportFileError(`${path}: ${err.message}`);
    throw err;
  }
}

/** A date `YYYY-MM-DD` that exists in the calendar, or null. */
export function isoDate(s: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s ? s : null;
}
