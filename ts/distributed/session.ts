/**
 * One process's part in data-parallel training. Rank 0 runs fvc as usual; every deep
 * fold it trains becomes a job that all ranks run together (each on its shard of the
 * fold's clips, gradients summed over c10d once per optimiser step, rank 0 alone
 * writing). The other ranks do nothing else: they wait for rank 0's next job until it
 * finishes, so folds, resumes and failures are decided in one place.
 */
import { FvcError } from '../errors.js';
import { native } from '../native/binding.js';
import { setTorchThreads } from '../runtime.js';
import { DEFAULT_TIMEOUT_SECONDS, type RankInfo } from './environment.js';

interface Session {
  info: RankInfo;
  threads: number;
  /** Rank 0 publishes and trains one job at a time, in order: the others run them in that order. */
  chain: Promise<unknown>;
  /** A job ended with a rank gone: finishing waits for nobody. */
  lostRank: boolean;
}

let session: Session | null = null;

/** This process's rank once it joined a rendezvous of several, else null. */
export function currentRank(): (RankInfo & { threads: number }) | null {
  return session && session.info.worldSize > 1 ? { ...session.info, threads: session.threads } : null;
}

/**
 * Joins the rendezvous (rank 0 serves it and waits for the others, up to the timeout).
 * `threads`: LibTorch threads for this rank (a node's cores split between its ranks).
 */
export async function joinRendezvous(info: RankInfo, o: { threads: number; timeoutSeconds?: number; log?: (m: string) => void }): Promise<void> {
  if (session) throw new FvcError('ERR_INVALID_ARGUMENT', `this process already joined a rendezvous as rank ${session.info.rank}`);
  if (!native.distributedBackends().length)
    throw new FvcError(
      'ERR_DISTRIBUTED',
      "this build of fvc has no torch.distributed process groups: install Gloo's headers (Debian libgloo-dev) or, for NCCL, a CUDA LibTorch with nccl.h, then rebuild (npm run build:native)",
    );
  const timeoutSeconds = o.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  o.log?.(`rank ${info.rank} of ${info.worldSize} (${info.launcher}): joining the rendezvous at ${info.address}:${info.port} (timeout ${timeoutSeconds} s)`);
  await native.distributedInit({ rank: info.rank, worldSize: info.worldSize, localRank: info.localRank, address: info.address, port: info.port, timeoutSeconds });
  session = { info, threads: o.threads, chain: Promise.resolve(), lostRank: false };
}

/**
 * Rank 0: `request` (a trainDeep request without its callbacks) becomes the next job of
 * every rank; `run` trains this rank's part of it under the job's number.
 */
export function trainAsJob<T>(request: Record<string, unknown>, run: (job: number) => Promise<T>): Promise<T> {
  const s = session;
  if (!s || s.info.rank !== 0) throw new FvcError('ERR_DISTRIBUTED', 'only rank 0 hands out training jobs');
  const text = JSON.stringify(request);
  const next = s.chain.then(async () => {
    const job = native.distributedPublish(text);
    try {
      return await run(job);
    } catch (err) {
      // Refused or cancelled before this rank joined the job's group: the others must not wait for it.
      native.distributedAbandon(job, (err as Error).message);
      throw err;
    }
  });
  s.chain = next.catch((err: unknown) => {
    if (err instanceof FvcError && err.code === 'ERR_DISTRIBUTED') s.lostRank = true;
  });
  return next;
}

/**
 * A rank other than 0: runs rank 0's jobs until it finishes. A job that fails here is
 * logged and the rank goes on (rank 0 records the fold's failure and decides what comes
 * next); rank 0 going away ends it with ERR_DISTRIBUTED.
 */
export async function followRankZero(o: { signal?: AbortSignal; log: (m: string) => void }): Promise<{ jobs: number; failed: number }> {
  const s = session;
  if (!s || s.info.rank === 0) throw new FvcError('ERR_DISTRIBUTED', 'rank 0 does not follow itself');
  const who = `rank ${s.info.rank} of ${s.info.worldSize}`;
  let jobs = 0,
    failed = 0;
  for (;;) {
    const next = await native.distributedNext(o.signal ? { signal: o.signal } : {});
    if (!next) {
      o.log(`${who}: rank 0 finished after ${jobs} job(s)${failed ? `, ${failed} failed here` : ''}`);
      return { jobs, failed };
    }
    const request = JSON.parse(next.request) as Parameters<typeof native.trainDeep>[0];
    setTorchThreads(s.threads);
    const started = Date.now();
    try {
      await native.trainDeep({ ...request, distributedJob: next.job, ...(o.signal ? { signal: o.signal } : {}) });
      o.log(`${who}: job ${next.job} (${request.model}, ${request.outDir}) done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      if (o.signal?.aborted) throw err;
      failed++;
      o.log(`${who}: job ${next.job} (${request.model}, ${request.outDir}) failed: ${(err as Error).message}`);
    }
    jobs++;
  }
}

/** Rank 0: tells the other ranks there are no more jobs (they exit), and waits until they have seen it. */
export async function finishRendezvous(): Promise<void> {
  const s = session;
  if (s?.info.rank === 0 && s.info.worldSize > 1) await s.chain.then(() => native.distributedFinish({ waitSeconds: s.lostRank ? 0 : 60 }));
}
