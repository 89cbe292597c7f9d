/**
 * Embedded DuckDB for reading and writing tables (CSV, Parquet). One in-memory
 * instance per process, created on first use; BIGINT comes back as JS bigint and
 * is converted to number at this boundary.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

let connection: Promise<DuckDBConnection> | undefined;

export function duck(): Promise<DuckDBConnection> {
  connection ??= (async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    return db.connect();
  })();
  return connection;
}

export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function sqlIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  return v;
}

export async function queryRows(sql: string): Promise<Record<string, unknown>[]> {
  const c = await duck();
  const reader = await c.runAndReadAll(sql);
  return reader.getRowObjects().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])));
}

export async function run(sql: string): Promise<void> {
  const c = await duck();
  await c.run(sql);
}
