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

/**
 * Why a key is unknown where it was written: it belongs at another level of the same
 * file ("train: unknown option 'epochs': it belongs at train.deep.epochs"), else the closest keys of its own
 * level ("did you mean ..."). `places` maps each level's dotted path ('' for the top)
 * to the keys it takes.
 */
export function unknownKey(key: string, at: string, places: Readonly<Record<string, readonly string[]>>): string {
  const where = `${at || '(config)'}: unknown option '${key}'`;
  const elsewhere = Object.entries(places)
    .filter(([p, keys]) => p !== at && keys.includes(key))
    .map(([p]) => (p ? `${p}.${key}` : key));
  if (elsewhere.length) return `${where}: it belongs at ${elsewhere.join(' or ')}`;
  const close = suggest(key, places[at] ?? []);
  return `${where}${close.length ? ` (did you mean ${close.map((c) => `'${c}'`).join(' or ')}?)` : ''}`;
}
