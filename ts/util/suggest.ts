/** "Did you mean": the known names closest to a misspelt one. */
/** Edit distance. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

/** The known names closest to `name` (at most three, within a third of its length). */
export function suggest(name: string, known: readonly string[]): string[] {
  const limit = Math.max(2, Math.ceil(name.length / 3));
  return known
    .map((k) => ({ k, d: distance(name, k) }))
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map((x) => x.k);
}
