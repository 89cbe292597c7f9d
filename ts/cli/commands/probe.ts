import type { Command } from 'commander';
import { probe } from '../../video/probe.js';
import { printJson, printKeyValues } from '../output.js';
import { numberOption } from '../parse.js';

export function registerProbe(program: Command): void {
  program
    .command('probe')
    .description('show container, codec, geometry, timing and keyframes of a video')
    .argument('<video>', 'video file')
    .option('--json', 'print JSON')
    .option('--exact', 'count frames and keyframes by reading every packet (slower, exact)')
    .option('--timeout <seconds>', 'give up after this many seconds', numberOption(0))
    .action(async (video: string, o: { json?: boolean; exact?: boolean; timeout?: number }) => {
      const info = await probe(video, { exact: o.exact ?? false, ...(o.timeout ? { timeoutMs: o.timeout * 1000 } : {}) });
      if (o.json) return printJson(info);
      const kf = info.keyframes;
      printKeyValues([
        ['path', info.path],
        ['container', info.container],
        ['codec', `${info.codec}${info.profile ? ` (${info.profile})` : ''}`],
        ['pixel format', `${info.pixelFormat}, ${info.bitDepth}-bit, range ${info.colorRange}, matrix ${info.colorSpace}`],
        ['size', `${info.width}x${info.height}${info.rotation ? ` (rotated ${info.rotation}°: shown ${info.displayWidth}x${info.displayHeight})` : ''}`],
        ['fps', `${info.avgFps.toFixed(3)} avg, ${info.realFps.toFixed(3)} real`],
        ['duration', `${info.duration.toFixed(3)} s (start ${info.startTime.toFixed(3)} s)`],
        ['frames', `${info.frameCount}${info.frameCountExact ? ' (exact)' : ' (from header)'}`],
        ['bitrate', `${Math.round(info.bitrate / 1000)} kb/s`],
        ['audio', info.hasAudio ? 'yes' : 'no'],
        [
          'keyframes',
          `${kf.length} (${info.keyframeSource}): ${kf
            .slice(0, 8)
            .map((t) => t.toFixed(3))
            .join(', ')}${kf.length > 8 ? ', ...' : ''}`,
        ],
      ]);
    });
}
