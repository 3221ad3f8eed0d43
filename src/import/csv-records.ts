/**
 * A streaming CSV reader (RFC 4180: quoted fields, doubled quotes, CRLF, line breaks inside quotes) that yields one
 * record at a time with the line it starts on, so an import holds one batch in memory, never the file, and names a
 * refused row by the line an operator sees in an editor. Header names are trimmed and lower-cased.
 */

export interface CsvRecord {
  /** 1-based line on which the record starts (the header is line 1). */
  line: number;
  /** Field values by lower-cased header name; extra columns are kept, missing trailing ones are absent. */
  values: Record<string, string>;
  /** Fields in this record beyond the header's count (a sign of a broken quote or delimiter). */
  extra: number;
}

export class CsvFormatError extends Error {
  override name = 'CsvFormatError';
}

/** Raw records as string arrays with their starting line. */
async function* rawRecords(chunks: AsyncIterable<string>): AsyncGenerator<{ line: number; fields: string[] }> {
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let afterQuote = false; // a quote just closed: "" continues the field, anything else ends quoting
  let line = 1;
  let start = 1;
  let pendingCr = false;
  let empty = true; // nothing seen in this record yet (blank lines are skipped)
  for await (const chunk of chunks) {
    let i = 0;
    if (line === 1 && start === 1 && empty && chunk.charCodeAt(0) === 0xfeff) i = 1; // byte order mark
    for (; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (pendingCr) {
        pendingCr = false;
        if (c === '\n') continue;
      }
      if (quoted) {
        if (afterQuote) {
          afterQuote = false;
          if (c === '"') {
            field += '"';
            continue;
          }
          quoted = false; // fall through: the closing quote ended the quoted part
        } else if (c === '"') {
          afterQuote = true;
          continue;
        } else {
          if (c === '\n' || c === '\r') {
            line++;
            if (c === '\r') pendingCr = true;
          }
          field += c;
          continue;
        }
      }
      if (c === ',') {
        fields.push(field);
        field = '';
        empty = false;
      } else if (c === '\n' || c === '\r') {
        if (c === '\r') pendingCr = true;
        if (!empty || field !== '') {
          fields.push(field);
          yield { line: start, fields };
        }
        fields = [];
        field = '';
        empty = true;
        line++;
        start = line;
      } else if (c === '"' && field === '') {
        quoted = true;
        empty = false;
      } else {
        field += c;
        empty = false;
      }
    }
  }
  if (quoted && !afterQuote) throw new CsvFormatError(`line ${start}: a quoted field is not closed before the end of the file`);
  if (!empty || field !== '') {
    fields.push(field);
    yield { line: start, fields };
  }
}

/** Records keyed by the header row's names. */
export async function* csvRecords(chunks: AsyncIterable<string>, onHeader?: (names: string[]) => void): AsyncGenerator<CsvRecord> {
  let header: string[] | null = null;
  for await (const { line, fields } of rawRecords(chunks)) {
    if (!header) {
      header = fields.map((h) => h.trim().toLowerCase());
      onHeader?.(header);
      continue;
    }
    const values: Record<string, string> = {};
    header.forEach((h, i) => {
      if (i < fields.length) values[h] = fields[i]!;
    });
    yield { line, values, extra: Math.max(0, fields.length - header.length) };
  }
  if (!header) throw new CsvFormatError('the file is empty (no header row)');
}
