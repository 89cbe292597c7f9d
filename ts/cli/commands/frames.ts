import type { Command } from 'commander';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FvcError } from '../../errors.js';
import { tempName } from '../../util/fs.js';
import { sampleFrames, type Interpolation } from '../../video/frames.js';
import { printJson } from '../output.js';
import { choiceOption, intOption, numberOption } from '../parse.js';

interface FramesFlags {
  num: number;
  size: number;
  output?: string;
  png?: string;
  json?: boolean;
  nativeAspect?: boolean;
  interpolation: Interpolation;
  threads: number;
  seek: boolean;
  timeout?: number;
  strict?: boolean;
}

export function registerFrames(program: Command): void {
  program
    .command('frames')
    .description('sample N frames uniformly across a video, letterboxed to a square (RGB uint8)')
    .argument('<video>', 'video file')
    .option('-n, --num <count>', 'frames to sample', intOption(1, 100000), 8)
    .option('--size <pixels>', 'square side (letterbox) or longer side (--native-aspect); 0 with --native-aspect keeps native size', intOption(0, 16384), 256)
    .option('-o, --output <file.npy>', 'write a NumPy uint8 array [N, H, W, 3]')
    .option('--png <dir>', 'write one PNG preview per frame into this folder')
    .option('--json', 'print the sampled timestamps and geometry as JSON')
    .option('--native-aspect', 'keep the aspect ratio without black bars')
    .option('--interpolation <kind>', 'nearest, bilinear, bicubic, area or lanczos', choiceOption(['nearest', 'bilinear', 'bicubic', 'area', 'lanczos'] as const), 'bilinear')
    .option('--threads <n>', 'decoder threads (0: automatic)', intOption(0, 256), 0)
    .option('--no-seek', 'decode sequentially from the start instead of seeking')
    .option('--timeout <seconds>', 'give up after this many seconds', numberOption(0))
    .option('--strict', 'fail when a returned frame was decoded from damaged data (decoder errors or concealment)')
    .action(async (video: string, o: FramesFlags) => {
      // Written under temporary names and moved into place only once the frames pass
      // --strict: a failed command leaves no output behind.
      const npy = o.output ? tempName(resolve(o.output)) : undefined;
      const png = o.png ? tempName(resolve(o.png)) : undefined;
      try {
        await framesTo(video, o, npy, png);
      } finally {
        if (npy) await rm(npy, { force: true });
        if (png) await rm(png, { recursive: true, force: true });
      }
    });
}

async function framesTo(video: string, o: FramesFlags, npy: string | undefined, png: string | undefined): Promise<void> {
  const r = await sampleFrames(video, {
    count: o.num,
    size: o.size,
    letterbox: !o.nativeAspect,
    interpolation: o.interpolation,
    threads: o.threads,
    seek: o.seek,
    returnData: false,
    ...(npy ? { npy } : {}),
    ...(png ? { pngDir: png } : {}),
    ...(o.timeout ? { timeoutMs: o.timeout * 1000 } : {}),
  });
  for (const w of r.warnings) process.stderr.write(`fvc: warning: ${video}: ${w}\n`);
  if (o.strict && r.stats.damagedFrames) throw new FvcError('ERR_DECODE', `${video}: ${r.stats.damagedFrames} of ${r.shape[0]} returned frames were decoded from damaged data (--strict)`);
  if (npy && o.output) await rename(npy, o.output);
  if (png && o.png) {
    await mkdir(o.png, { recursive: true });
    for (const f of await readdir(png)) await rename(join(png, f), join(o.png, f));
  }
  if (o.json) {
    const { data: _data, ...rest } = r;
    return printJson({ ...rest, output: o.output ?? null, png: o.png ?? null });
  }
  const [n, h, w] = r.shape;
  process.stdout.write(`${video}: ${n} frames ${w}x${h} at ${r.timestamps.map((t) => t.toFixed(3)).join(', ')} s\n`);
  if (o.output) process.stdout.write(`wrote ${o.output}\n`);
  if (o.png) process.stdout.write(`wrote ${n} PNG(s) to ${o.png}\n`);
}
