/**
 * One rank of a data-parallel fold for test/distributed.test.ts, started as its own
 * process (the rendezvous is per process) by fvc's launcher or srun: the fold in
 * argv[2] as JSON; rank 0 writes trainDeepFold's result to argv[3]. FVC_TEST_KILL_RANK
 * and FVC_TEST_KILL_AFTER_EPOCH make that rank kill itself (SIGKILL) once rank 0 has
 * finished that epoch (rank 0) or that many seconds into the fold (other ranks);
 * FVC_TEST_ABORTED makes rank 0 cancel the fold before it starts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { rankFromEnvironment } from '../ts/distributed/environment.js';
import { finishRendezvous, followRankZero, joinRendezvous } from '../ts/distributed/session.js';
import { trainDeepFold } from '../ts/deep/train.js';

const rank = rankFromEnvironment();
if (!rank) throw new Error('not started as a rank');
const arg = process.argv[2] as string;
const fold = JSON.parse(arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg) as Parameters<typeof trainDeepFold>[0];
const log = (m: string) => process.stderr.write(`${m}\n`);
const kill = process.env.FVC_TEST_KILL_RANK === String(rank.rank) ? Number(process.env.FVC_TEST_KILL_AFTER_EPOCH) : 0;
await joinRendezvous(rank, { threads: 1, timeoutSeconds: Number(process.env.FVC_TEST_TIMEOUT ?? 60), log });
if (rank.rank > 0) {
  if (kill) setTimeout(() => process.kill(process.pid, 'SIGKILL'), kill * 1000);
  await followRankZero({ log });
} else {
  try {
    const r = await trainDeepFold({
      ...fold,
      // FVC_TEST_ABORTED: rank 0 gives up on the fold before it starts (Ctrl-C between folds).
      ...(process.env.FVC_TEST_ABORTED ? { signal: AbortSignal.abort() } : {}),
      onEpoch: (e) => {
        log(`epoch ${e.epoch}`);
        if (e.epoch === kill) process.kill(process.pid, 'SIGKILL');
      },
    });
    writeFileSync(process.argv[3] as string, JSON.stringify({ ...r, valProbs: [...r.valProbs] }));
  } finally {
    await finishRendezvous();
  }
}
