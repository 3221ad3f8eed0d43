/**
 * Progress of a long import on stderr: a bar with rate and ETA redrawn in place on a terminal, one plain line every
 * few seconds otherwise (a log file must not fill with carriage returns). Silent for the first second, so short
 * imports and tests print nothing.
 */

export interface Progress {
  /** Bytes of the file read so far and rows handled so far. */
  update(bytes: number, rows: number): void;
  done(): void;
}

export interface ProgressOptions {
  totalBytes: number;
  label: string;
  stream?: { write(s: string): unknown; isTTY?: boolean };
  now?: () => number;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function duration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.max(0, Math.round(s))}s`;
}

export function createProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  const now = o.now ?? (() => performance.now());
  const tty = Boolean(stream.isTTY);
  const started = now();
  let lastDraw = Number.NEGATIVE_INFINITY;
  let drawn = false;
  let last = { bytes: 0, rows: 0 };
  const line = () => {
    const elapsed = (now() - started) / 1000;
    const fraction = o.totalBytes > 0 ? Math.min(1, last.bytes / o.totalBytes) : 0;
    const rate = last.rows / Math.max(elapsed, 0.001);
    const eta = fraction > 0 ? (elapsed * (1 - fraction)) / fraction : Number.NaN;
    const bar = `[${'#'.repeat(Math.round(fraction * 24)).padEnd(24, '.')}]`;
    return `${o.label} ${tty ? `${bar} ` : ''}${(fraction * 100).toFixed(0).padStart(3)}%  ${fmt(last.rows)} rows  ${fmt(rate)} rows/s  ETA ${duration(eta)}`;
  };
  return {
    update(bytes, rows) {
      last = { bytes, rows };
      const t = now();
      if (t - started < 1000 || t - lastDraw < (tty ? 200 : 5000)) return;
      lastDraw = t;
      drawn = true;
      stream.write(tty ? `\r${line()}\x1b[K` : `${line()}\n`);
    },
    done() {
      if (!drawn) return;
      last = { ...last, bytes: o.totalBytes };
      stream.write(tty ? `\r${line()}\x1b[K\n` : `${line()}\n`);
    },
  };
}
