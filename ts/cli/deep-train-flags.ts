/**
 * `fvc train`'s flags for the deep trainer's options, made from their one declaration
 * (ts/native/deep-train-fields.ts): `--lr-head <x>`, `--gradient-checkpointing`,
 * `--no-class-weights`, each checked against the declared range.
 */
import type { Command } from 'commander';
import { DEEP_TRAIN_FIELDS, type DeepTrainField, type DeepTrainKey, type DeepTrainOptions } from '../native/deep-train-fields.js';
import { intOption, numberOption } from './parse.js';

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const entries = () => Object.entries(DEEP_TRAIN_FIELDS) as Array<[DeepTrainKey, DeepTrainField]>;

export function addDeepTrainFlags(cmd: Command): Command {
  for (const [name, f] of entries()) {
    const flag = kebab(name);
    if (f.type === 'bool') cmd.option(f.default ? `--no-${flag}` : `--${flag}`, `deep models: ${f.doc}${f.default ? ' (on by default; this turns it off)' : ''}`);
    else {
      const parse = f.type === 'int' ? intOption(f.min, f.max) : numberOption(f.min, f.max);
      cmd.option(`--${flag} <${f.type === 'int' ? 'n' : 'x'}>`, `deep models: ${f.doc} (default ${'optional' in f ? 'unset' : f.default})`, parse);
    }
  }
  return cmd;
}

/**
 * The options the flags set. An on-by-default switch counts only when turned off:
 * commander fills in its `true`, which must not override a run configuration.
 */
export function deepTrainFlagsFrom(o: Record<string, unknown>): Partial<DeepTrainOptions> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of entries()) {
    const v = o[name];
    if (v === undefined || (f.type === 'bool' && f.default && v !== false)) continue;
    out[name] = v;
  }
  return out as Partial<DeepTrainOptions>;
}
