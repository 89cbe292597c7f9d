/** Printing for the CLI: aligned tables for people, JSON for scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function formatTable(rows: ReadonlyArray<ReadonlyArray<string | number>>, header?: readonly string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const row of all) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, String(c).length)));
  const line = (row: ReadonlyArray<string | number>) =>
    row
      .map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i] ?? 0) : String(c).padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = all.map(line);
  if (header) out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return out.join('\n') + '\n';
}

export function printKeyValues(pairs: ReadonlyArray<[string, string | number | boolean]>): void {
  const w = Math.max(...pairs.map(([k]) => k.length));
  for (const [k, v] of pairs) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
}
