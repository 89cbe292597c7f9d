/**
 * Option objects of the plain-function API (the stages, extraction, evaluation) are
 * checked like train()'s: a misspelt key (`numFrame: 4`) is an error with "did you
 * mean", not silently the default. JavaScript callers and JSON configs have no
 * compiler to catch it.
 */
import { FvcError } from '../errors.js';
import { suggest } from './suggest.js';

/**
 * The keys of an options type, written once as an object so the compiler checks the
 * list against the type: a key missing from it, or one the type lacks, fails to compile.
 */
export const optionKeys =
  <T>() =>
  <K extends { [P in keyof Required<T>]: true }>(keys: K & { [X in Exclude<keyof K, keyof T>]: never }): readonly string[] =>
    Object.keys(keys);

export function rejectUnknownOptions(fn: string, options: object, known: readonly string[]): void {
  const bad = Object.keys(options).filter((k) => !known.includes(k));
  if (!bad.length) return;
  const lines = bad.map((k) => {
    const close = suggest(k, known);
    return `unknown option '${k}'${close.length ? ` (did you mean ${close.map((c) => `'${c}'`).join(' or ')}?)` : ''}`;
  });
  throw new FvcError('ERR_INVALID_ARGUMENT', `${fn}: ${lines.join('; ')}`);
}
