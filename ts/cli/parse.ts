/** Option parsers for commander that reject bad values with the option's name. */
import { InvalidArgumentError } from 'commander';
import { FvcError } from '../errors.js';
import type { DeviceRequest } from '../runtime.js';

export function intOption(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`expected an integer${max === Number.MAX_SAFE_INTEGER ? ` >= ${min}` : ` from ${min} to ${max}`}`);
    return n;
  };
}

export function numberOption(min: number, max = Number.POSITIVE_INFINITY) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min}${Number.isFinite(max) ? ` to ${max}` : ''}`);
    return n;
  };
}

export function choiceOption<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}`);
    return value as T;
  };
}

/** --device: auto, cpu, cuda or cuda:<index>. */
export function deviceOption(value: string): DeviceRequest {
  if (!/^(auto|cpu|cuda|cuda:\d+)$/.test(value)) throw new InvalidArgumentError('expected auto, cpu, cuda or cuda:<index>');
  return value as DeviceRequest;
}

/** --gpu N is --device cuda:N; beside another --device it contradicts it. */
export function withGpu<D extends DeviceRequest | undefined>(device: D, gpu: number | undefined): D | `cuda:${number}` {
  if (gpu === undefined) return device;
  if (device !== undefined && device !== 'auto' && device !== `cuda:${gpu}` && device !== 'cuda')
    throw new FvcError('ERR_INVALID_ARGUMENT', `--gpu ${gpu} and --device ${device} contradict each other (--gpu N means --device cuda:N)`);
  return `cuda:${gpu}`;
}

/** The seed's FVC_NUM_FRAMES, else 8: the default of every --num-frames. */
export function defaultNumFrames(): number {
  const env = process.env.FVC_NUM_FRAMES;
  return env ? intOption(1, 10000)(env) : 8;
}
