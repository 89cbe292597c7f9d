/**
 * The main job on a generated corpus, end to end as far as fvc goes today:
 * corpus -> probe every clip -> sample frames of every clip into .npy files ->
 * Stage 2 handcrafted features of every clip as Parquet.
 */
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { generateCorpus } from './corpus/generate.js';
import { runFeatureStage } from './stages/features-stage.js';
import { mapPool } from './util/pool.js';
import { createProgress, executionTimeLine } from './util/progress.js';
import { sampleFrames } from './video/frames.js';
import { probe, type VideoInfo } from './video/probe.js';

export interface DemoOptions {
  out: string;
  videos?: number;
  seed?: number;
  frames?: number;
  size?: number;
}

export interface DemoSummary {
  clips: number;
  byManipulation: Record<string, number>;
  meanDuration: number;
  featuresPath: string;
  seconds: { corpus: number; probe: number; frames: number; stage2: number; total: number };
}

export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const t0 = performance.now();
  const corpusDir = join(o.out, 'corpus');
  const corpus = await generateCorpus({ out: corpusDir, videos: o.videos ?? 200, seed: o.seed ?? 1 });
  const t1 = performance.now();

  const jobs = availableParallelism();
  const paths = corpus.clips.map((c) => join(corpusDir, c.video_path));
  const probeBar = createProgress({ label: 'probe', total: paths.length });
  const infos: VideoInfo[] = await mapPool(paths, jobs, async (p) => {
    const info = await probe(p);
    probeBar.tick();
    return info;
  });
  probeBar.done();
  const t2 = performance.now();

  const framesDir = join(o.out, 'frames');
  await mkdir(framesDir, { recursive: true });
  const framesBar = createProgress({ label: 'frames', total: paths.length });
  await mapPool(corpus.clips, jobs, async (clip, i) => {
    const name = clip.video_path.replace(/^videos\//, '').replace(/\.mp4$/, '.npy');
    // One decoder thread per clip: clips run in parallel instead.
    await sampleFrames(paths[i] as string, { count: o.frames ?? 8, size: o.size ?? 256, threads: 1, npy: join(framesDir, name), returnData: false });
    framesBar.tick();
  });
  framesBar.done();
  const t3 = performance.now();

  const stage2 = await runFeatureStage({ stage: 'stage2', metadata: corpus.metadataPath, out: join(o.out, 'stage2'), numFrames: o.frames ?? 8 });
  const t4 = performance.now();

  const byManipulation: Record<string, number> = {};
  for (const c of corpus.clips) byManipulation[c.manipulation] = (byManipulation[c.manipulation] ?? 0) + 1;
  const total = (t4 - t0) / 1000;
  process.stderr.write(`demo: ${executionTimeLine(total)}\n`);
  return {
    clips: corpus.clips.length,
    byManipulation,
    meanDuration: infos.reduce((s, i) => s + i.duration, 0) / Math.max(1, infos.length),
    featuresPath: stage2.outputPath,
    seconds: { corpus: (t1 - t0) / 1000, probe: (t2 - t1) / 1000, frames: (t3 - t2) / 1000, stage2: (t4 - t3) / 1000, total },
  };
}
