/**
 * Splitting a table's rows over jobs: shard i of n takes rows i - 1, i - 1 + n, ...
 * (round robin, so shards are within one row of each other in size and a table's
 * order alone decides the split). Per-video stages and extraction take `--shard i/n`.
 */
import { FvcError } from '../errors.js';

/** Shard `index` (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** `i/n` as a shard, checked; `field` names the option in the error. */
export function parseShard(value: string, field = '--shard'): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || count > 100000 || index < 1 || index > count)
    throw new FvcError('ERR_INVALID_ARGUMENT', `${field}: '${value}' is not a shard i/n with 1 <= i <= n (e.g. 2/4: the second of four)`);
  return { index, count };
}

export const inShard = (row: number, shard: Shard | undefined): boolean => !shard || row % shard.count === shard.index - 1;
export const shardName = (s: Shard): string => `${s.index}/${s.count}`;
/** A shard's lock file: shards of one stage run side by side in its folder. */
export const shardLockName = (s: Shard): string => `.fvc-lock-shard-${s.index}-of-${s.count}.json`;
