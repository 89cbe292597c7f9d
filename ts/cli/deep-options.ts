/** The clip sampling and model scale flags that `fvc train` and `fvc extract` share, one definition for both. */
import type { Command } from 'commander';
import { intOption, numberOption } from './parse.js';

export function deepInputOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--num-frames <n>', `${what}: frames per clip (default: each architecture's preset; fvc models lists them)`, intOption(1, 4096))
    .option(
      '--frame-size <px>',
      `${what}: cached frames are letterboxed to this square (default: the preset's); the rgb+pairs layout (trace_cnn) keeps frames at their own size and ignores it, except for face crops`,
      intOption(8, 4096),
    )
    .option('--crop-size <px>', `${what}: the central square crop the model sees (default: the preset's)`, intOption(8, 4096))
    .option('--width <w>', `${what}: channel multiplier (small variants for tests and CPU demos)`, numberOption(0.001, 16))
    .option('--depth <n>', `${what}: blocks per stage at most (0: the published depth)`, intOption(0, 1000));
}
