/** How `fvc pipeline` and `fvc demo` end: the models' summary table and, per model, whether it beats guessing. */
import { existsSync } from 'node:fs';
import { Analytics } from '../analytics/analytics.js';
import { chanceLine, chanceVerdicts, type ChanceVerdict } from '../evaluation/chance.js';
import { printResult } from './commands/query.js';
import type { QueryResult } from '../analytics/analytics.js';

export function printOutcome(summary: QueryResult, chance: readonly ChanceVerdict[]): void {
  process.stdout.write('\n');
  printResult(summary, 'table');
  process.stdout.write('\n');
  for (const v of chance) process.stdout.write(`${chanceLine(v)}\n`);
}

export async function printStudyOutcome(stage5Dir: string): Promise<void> {
  if (!existsSync(stage5Dir)) return;
  const a = await Analytics.open({ stage5Dir });
  try {
    printOutcome(await a.trainingSummary(), chanceVerdicts(stage5Dir));
  } finally {
    a.close();
  }
}
