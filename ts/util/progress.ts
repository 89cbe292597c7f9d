/**
 * Progress for long work: a redrawn bar with ETA on a terminal, plain log lines
 * otherwise (CI logs, SLURM .out files), so both stay readable.
 */
export interface Progress {
  tick(item?: string): void;
  done(summary?: string): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  stream?: NodeJS.WriteStream;
  /** Force plain lines even on a TTY. */
  plain?: boolean;
  /** Say nothing at all. */
  silent?: boolean;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const { label, total } = options;
  const started = Date.now();
  let done = 0;
  if (options.silent) return { tick: () => void done++, done: () => undefined };
  const tty = Boolean(stream.isTTY) && !options.plain && process.env.CI !== 'true';
  const every = Math.max(1, Math.ceil(total / 20));
  const eta = () => {
    const elapsed = (Date.now() - started) / 1000;
    return done > 0 ? formatDuration((elapsed / done) * (total - done)) : '--:--';
  };
  return {
    tick(item?: string) {
      done++;
      if (tty) {
        const width = 30;
        const filled = total > 0 ? Math.round((done / total) * width) : width;
        const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
        stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${pct}% ETA ${eta()}\x1b[K`);
      } else if (done === total || done % every === 0) {
        stream.write(`${label}: ${done}/${total}${item ? ` (${item})` : ''}, ETA ${eta()}\n`);
      }
    },
    done(summary?: string) {
      const elapsed = (Date.now() - started) / 1000;
      if (tty) stream.write('\n');
      stream.write(`${label}: ${summary ?? `${done}/${total} done`} in ${formatDuration(elapsed)}\n`);
    },
  };
}

/** The seed pipeline's timing line, kept verbatim so existing log greps work. */
export function executionTimeLine(seconds: number): string {
  return `Execution time: ${seconds.toFixed(2)} seconds (${(seconds / 60).toFixed(2)} minutes)`;
}
