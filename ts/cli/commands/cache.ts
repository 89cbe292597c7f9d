import type { Command } from 'commander';
import { buildFrameCache } from '../../cache/build.js';
import { FrameCache } from '../../cache/frame-cache.js';
import { defaultNumFrames, intOption } from '../parse.js';
import { addFaceOptions, faceOptionsFrom, type FaceFlags } from '../face-options.js';
import { faceCrop } from '../../video/faces.js';

export function registerCache(program: Command): void {
  const cache = program.command('cache').description('the frame cache: sampled frames decoded once per video content and sampling');
  const dirOption = '--dir <dir>';
  const dirHelp = 'cache folder (default: $FVC_FRAME_CACHE_DIR or data/cache/frames)';
  addFaceOptions(cache.command('build'))
    .description('decode and store the sampled frames of every video in a metadata table (letterboxed, or face crops with --faces)')
    .requiredOption('--metadata <table>', 'video metadata table (.csv or .parquet)')
    .option(dirOption, dirHelp)
    .option('--root <dir>', "resolve relative video paths against this folder (default: the table's folder)")
    .option('-n, --num-frames <count>', 'frames per video (default: FVC_NUM_FRAMES or 8)', intOption(1, 10000))
    .option('--size <px>', 'letterboxed square side', intOption(1, 16384), 256)
    .option('--workers <n>', 'videos decoded in parallel (default: one per core)', intOption(1, 1024))
    .option('--strict', 'fail on the first video that cannot be decoded')
    .action(async (o: FaceFlags & { metadata: string; dir?: string; root?: string; numFrames?: number; size: number; workers?: number; strict?: boolean }) => {
      const faces = faceOptionsFrom(o);
      const r = await buildFrameCache({
        ...(faces ? { faces: await faceCrop(faces) } : {}),
        metadata: o.metadata,
        numFrames: o.numFrames ?? defaultNumFrames(),
        size: o.size,
        strict: o.strict ?? false,
        ...(o.dir ? { dir: o.dir } : {}),
        ...(o.root ? { root: o.root } : {}),
        ...(o.workers ? { workers: o.workers } : {}),
      });
      process.stdout.write(`${r.dir}: ${r.decoded} decoded, ${r.hits} already cached, ${r.failures.length} failed\n`);
      if (r.failures.length) process.exitCode = 1;
    });
  cache
    .command('status')
    .description('entries, size on disk, and entries whose source video changed or vanished')
    .option(dirOption, dirHelp)
    .action(async (o: { dir?: string }) => {
      const c = new FrameCache(o.dir);
      const { entries, bytes } = await c.stats();
      const stale = await c.stale();
      process.stdout.write(`${c.dir}: ${entries} entries, ${(bytes / 2 ** 20).toFixed(1)} MiB, ${stale.length} stale\n`);
      for (const s of stale) process.stdout.write(`  stale (${s.reason}): ${s.source}\n`);
    });
  cache
    .command('prune')
    .description('remove entries whose source video changed or vanished')
    .option(dirOption, dirHelp)
    .action(async (o: { dir?: string }) => {
      const c = new FrameCache(o.dir);
      const removed = await c.prune();
      process.stdout.write(`${c.dir}: removed ${removed.length} stale entries\n`);
    });
}
