/**
 * Before jobs that train on a GPU are submitted: one short job per distinct request
 * (partition, account, GPUs) runs `fvc info --device cuda --json` on the kind of node
 * those jobs will get, with their environment (slurm.setup, the wrapper, how they call
 * fvc). A node without CUDA — a CPU build of the addon, a missing driver, no GPU
 * visible — or without Node or fvc refuses the submission, naming the node, instead of
 * every model job quietly training on its CPU for hours.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FvcError } from '../errors.js';
import { resolveModel } from '../train/registry.js';
import { jobEnvironmentLines, jobFvcCommand, sbatchHeader, type PlannedJob, type SlurmConfig } from './plan.js';
import { sbatchResourceLines, singleProcess } from './resources.js';
import { runTool } from './tools.js';

export interface NodeCheck {
  /** The request checked: partition, account, GPUs. */
  request: string;
  jobs: string[];
  jobId: string;
  node: string;
  ok: boolean;
  detail: string;
}

/** Whether a job trains something that runs on the GPU when it has one (deep models, models on deep features). */
function usesGpu(job: PlannedJob): boolean {
  if (!job.model || !(job.resources.gpus && job.resources.gpus > 0)) return false;
  if (!['model', 'folds', 'grid'].includes(job.kind)) return false;
  try {
    const { spec } = resolveModel(job.model, 'stage2');
    return Boolean(spec.architectures || spec.backbone);
  } catch {
    return false;
  }
}

/** The GPU jobs of a plan, grouped by what they ask SLURM for. */
export function gpuRequests(jobs: readonly PlannedJob[]): Map<string, PlannedJob[]> {
  const groups = new Map<string, PlannedJob[]>();
  for (const j of jobs.filter(usesGpu)) {
    const key = [j.resources.partition && `partition ${j.resources.partition}`, j.resources.account && `account ${j.resources.account}`, `${j.resources.gpus} GPU(s)`].filter(Boolean).join(', ');
    groups.set(key, [...(groups.get(key) ?? []), j]);
  }
  return groups;
}

export async function checkNodes(c: SlurmConfig, jobs: readonly PlannedJob[], o: { dir: string; timeoutSeconds?: number; log?: (m: string) => void }): Promise<NodeCheck[]> {
  const out: NodeCheck[] = [];
  const dir = join(o.dir, 'node-check');
  await mkdir(dir, { recursive: true });
  let n = 0;
  for (const [request, group] of gpuRequests(jobs)) {
    const first = group[0] as PlannedJob;
    const script = join(dir, `check-${++n}.sbatch`);
    const log = join(dir, `check-${n}-%j.out`);
    const { setup } = jobEnvironmentLines(c);
    const header = sbatchHeader(['--job-name=fvc_node_check', ...sbatchResourceLines({ ...singleProcess(first.resources), mem: '2G', 'cpus-per-task': 1, time: '0:10:00' }), `--output=${log}`, `--error=${log}`]);
    await writeFile(
      script,
      [
        '#!/bin/bash',
        ...header.map((h) => `#SBATCH ${h}`),
        'fail() { echo "$*" >&2; exit 1; }',
        'log() { :; }',
        'echo "fvc-node: $(hostname)"',
        setup,
        `${jobFvcCommand(c)} info --device cuda --json`,
        '',
      ].join('\n'),
    );
    o.log?.(`checking a node of the GPU jobs (${request}: ${group.map((j) => j.name).join(', ')}) for CUDA`);
    const r = await runTool('sbatch', ['--wait', '--parsable', script], { timeoutMs: (o.timeoutSeconds ?? 1800) * 1000 });
    const jobId = r.stdout.trim().split(';')[0]?.split('\n')[0] ?? '';
    const text = jobId ? await readFile(log.replace('%j', jobId), 'utf8').catch(() => '') : '';
    const node = /fvc-node: (\S+)/.exec(text)?.[1] ?? 'unknown node';
    let ok = r.code === 0;
    let detail = '';
    if (ok) {
      try {
        const info = JSON.parse(text.slice(text.indexOf('{'))) as { device?: string; torch?: { cudaDeviceCount?: number } };
        ok = typeof info.device === 'string' && info.device.startsWith('cuda');
        detail = ok ? `CUDA, ${info.torch?.cudaDeviceCount ?? '?'} GPU(s) seen` : `fvc resolved its device to ${info.device}`;
      } catch {
        ok = false;
        detail = 'fvc info printed no JSON';
      }
    } else {
      const tail = (text.replace(/^fvc-node: .*\n/m, '') || r.stderr).trim().split('\n').slice(-6).join('\n');
      detail = tail || `the check job exited with ${r.code}`;
    }
    out.push({ request, jobs: group.map((j) => j.name), jobId, node, ok, detail });
  }
  return out;
}

/** Refuses when a check failed, naming the node, the jobs and the cause. */
export function requireCuda(checks: readonly NodeCheck[]): void {
  const bad = checks.filter((c) => !c.ok);
  if (!bad.length) return;
  throw new FvcError(
    'ERR_SLURM',
    bad
      .map(
        (c) =>
          `node ${c.node} (${c.request}; check job ${c.jobId || 'not started'}) cannot run the GPU jobs ${c.jobs.join(', ')}: ${c.detail}\n` +
          '  fvc there needs a CUDA build (README "GPU builds": FVC_LIBTORCH at install), a visible GPU, and Node and fvc on the node (slurm.setup / slurm.wrapper / --fvc-command)',
      )
      .join('\n') + '\nNothing was submitted (--no-node-check skips this check).',
  );
}
