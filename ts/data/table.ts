/** Tables on disk: CSV and Parquet in, Parquet out (written atomically). */
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { FvcError } from '../errors.js';
import { parseCsvRecords, sniffDelimiter } from '../util/csv.js';
import { requireRegularFile, tempName } from '../util/fs.js';
import { queryRows, run, sqlIdent, sqlString } from './duckdb.js';

export type Row = Record<string, unknown>;
export type ColumnType = 'VARCHAR' | 'DOUBLE' | 'BIGINT' | 'INTEGER' | 'BOOLEAN';

/**
 * A CSV table as text cells (an empty unquoted cell is NULL, as DuckDB reads it). Read
 * here rather than by DuckDB, whose dialect sniffing fails on mixed CRLF/LF line ends
 * and reads a row with too many fields as a different header ("missing columns").
 * The delimiter (comma, semicolon, tab, bar) is the header's.
 */
async function readCsv(path: string): Promise<Row[]> {
  const text = (await readFile(path, 'utf8')).replace(/^\uFEFF/, '');
  const [header, ...body] = parseCsvRecords(text, sniffDelimiter(text));
  if (!header) return [];
  const names = header.fields.map((h) => h.trim());
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new FvcError('ERR_INVALID_DATA', `${path}: column '${dup}' appears twice in the header`);
  const bad = body.filter((r) => r.fields.length !== names.length);
  if (bad.length)
    throw new FvcError('ERR_INVALID_DATA', `${path}: ${bad.length} row(s) do not have the header's ${names.length} fields: ${bad.slice(0, 5).map((r) => `line ${r.line} has ${r.fields.length}`).join(', ')}${bad.length > 5 ? ', ...' : ''} (a comma inside a value needs quotes)`);
  return body.map((r) => Object.fromEntries(names.map((n, i) => [n, r.fields[i] === '' && !r.quoted[i] ? null : r.fields[i]])));
}

export async function readTable(path: string): Promise<Row[]> {
  if (!existsSync(path)) throw new FvcError('ERR_FILE_NOT_FOUND', `${path}: no such file`);
  requireRegularFile(path, 'the table');
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return readCsv(path);
  const source = ext === '.parquet' ? `read_parquet(${sqlString(path)})` : undefined;
  if (!source) {
    const hint = ext === '.arrow' || ext === '.feather' || ext === '.ipc'
      ? ' (Arrow IPC needs DuckDB\'s arrow extension, which cannot be installed from this project\'s package sources; convert to Parquet or CSV)'
      : '';
    throw new FvcError('ERR_INVALID_ARGUMENT', `${path}: unsupported table format '${ext || 'none'}': use .csv or .parquet${hint}`);
  }
  try {
    return await queryRows(`SELECT * FROM ${source}`);
  } catch (err) {
    throw new FvcError('ERR_INVALID_DATA', `${path}: cannot read table (${(err as Error).message.split('\n')[0]})`);
  }
}

/** Write rows with explicit column types as Parquet, via a temporary name. */
export async function writeParquet(path: string, columns: ReadonlyArray<[string, ColumnType]>, rows: readonly Row[]): Promise<void> {
  const tmp = tempName(path);
  const json = `${tmp}.jsonl`;
  try {
    await writeFile(json, rows.map((r) => JSON.stringify(Object.fromEntries(columns.map(([c]) => [c, r[c] ?? null])))).join('\n') + '\n');
    const spec = columns.map(([c, t]) => `${sqlString(c)}: ${sqlString(t)}`).join(', ');
    const select = columns.map(([c]) => sqlIdent(c)).join(', ');
    const source = rows.length
      ? `read_json(${sqlString(json)}, format = 'newline_delimited', columns = {${spec}})`
      : `(SELECT ${columns.map(([c, t]) => `NULL::${t} AS ${sqlIdent(c)}`).join(', ')} WHERE false)`;
    await run(`COPY (SELECT ${select} FROM ${source}) TO ${sqlString(tmp)} (FORMAT parquet)`);
    await rename(tmp, path);
  } finally {
    await rm(json, { force: true });
    await rm(tmp, { force: true });
  }
}
