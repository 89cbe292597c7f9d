/** RFC 4180 CSV: quoting where needed, so paths with commas survive a round trip. */
export type CsvValue = string | number | boolean | null | undefined;

/** One CSV field: quoted when it holds a quote, comma or line break. */
export function csvCell(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(columns: readonly string[], rows: readonly Record<string, CsvValue>[]): string {
  const lines = [columns.map(csvCell).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(','));
  return lines.join('\n') + '\n';
}

/** CSV records with the line each starts on; `\r\n`, `\n` and `\r` all end a record, mixed in one file too. */
export function parseCsvRecords(text: string, delimiter = ','): Array<{ fields: string[]; quoted: boolean[]; line: number }> {
  const records: Array<{ fields: string[]; quoted: boolean[]; line: number }> = [];
  let fields: string[] = [];
  let quotedFields: boolean[] = [];
  let cur = '';
  let wasQuoted = false;
  let quoted = false;
  let line = 1;
  let start = 1;
  const endField = () => {
    fields.push(cur);
    quotedFields.push(wasQuoted);
    cur = '';
    wasQuoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        cur += c;
      }
    } else if (c === '"') quoted = wasQuoted = true;
    else if (c === delimiter) endField();
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endField();
      records.push({ fields, quoted: quotedFields, line: start });
      fields = [];
      quotedFields = [];
      start = ++line;
    } else cur += c;
  }
  if (cur !== '' || fields.length > 0 || wasQuoted) {
    endField();
    records.push({ fields, quoted: quotedFields, line: start });
  }
  // Blank lines are not records.
  return records.filter((r) => r.fields.length > 1 || r.fields[0] !== '' || r.quoted[0]);
}

export function parseCsv(text: string): Record<string, string>[] {
  const [header, ...body] = parseCsvRecords(text);
  if (!header) return [];
  return body.map((r) => Object.fromEntries(header.fields.map((h, i) => [h, r.fields[i] ?? ''])));
}

/** The delimiter of a table: comma, semicolon, tab or bar, whichever its header line uses most. */
export function sniffDelimiter(text: string): string {
  const header = text.slice(0, text.search(/[\r\n]|$/)).replace(/"[^"]*"/g, '');
  const counts = [',', ';', '\t', '|'].map((d) => [d, header.split(d).length - 1] as const);
  const [best, n] = counts.reduce((a, b) => (b[1] > a[1] ? b : a));
  return n > 0 ? best : ',';
}
