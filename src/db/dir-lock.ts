/**
 * An exclusive lock file holding the owner's pid. A stale lock (its process is gone) is taken over.
 * Embedded PGlite must never be opened by two processes (or twice in one) at the same time.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

export class DirLockedError extends Error {
  override name = 'DirLockedError';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireDirLock(lockPath: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          unlinkSync(lockPath);
        } catch {}
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      if (Number.isFinite(owner) && alive(owner)) {
        throw new DirLockedError(
          `the embedded database in ${lockPath.replace(/pglite\.lock$/, '')} is in use by process ${owner}` +
            (owner === process.pid ? ' (this process)' : '') +
            '; stop that process first, or manage clients through the admin GraphQL mutations while it runs',
        );
      }
      unlinkSync(lockPath); // stale: its owner is gone
    }
  }
  throw new DirLockedError(`could not take the lock ${lockPath}`);
}
