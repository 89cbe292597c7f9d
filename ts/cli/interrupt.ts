/**
 * Ctrl-C for long commands: the first one says what stops and how to resume, and
 * aborts the run's signal so it ends at a clean boundary with its finished work kept;
 * a second one exits at once.
 */
export async function interruptible<T>(message: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const interrupt = () => {
    if (ac.signal.aborted) process.exit(130);
    process.stderr.write(`\n${message} (Ctrl-C again to exit now)\n`);
    ac.abort();
  };
  process.on('SIGINT', interrupt);
  try {
    return await run(ac.signal);
  } finally {
    process.off('SIGINT', interrupt);
  }
}
