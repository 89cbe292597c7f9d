/**
 * The job and coordinator templates in `slurm/`, filled by name: every {{NAME}} must
 * be given and every value given must be used, so a template and its caller
 * cannot drift apart silently.
 */
import { readFileSync } from 'node:fs';
import { packageFile } from '../util/package-files.js';

export function fillTemplate(file: 'job.sbatch' | 'submit.sh', values: Record<string, string>): string {
  const path = packageFile(`slurm/${file}`);
  const text = readFileSync(path, 'utf8');
  const used = new Set<string>();
  const out = text.replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`${path}: no value for {{${key}}}`);
    used.add(key);
    return v;
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length) throw new Error(`${path}: has no {{${unused.join('}}, {{')}}}`);
  return out;
}
