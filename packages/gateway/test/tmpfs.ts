import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A small tmpfs mounted for one test file, or why there is none (not root, no mount). */
export type Tmpfs = { dir: string; unmount(): void; skip?: undefined } | { skip: string };

/** Mounts a tmpfs of `sizeKb` under os.tmpdir(). Needs root (CAP_SYS_ADMIN); otherwise says why it cannot. */
export function mountTmpfs(sizeKb: number, prefix = 'dingpush-tmpfs-'): Tmpfs {
  if (process.platform !== 'linux') return { skip: `needs Linux to mount a tmpfs (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { skip: 'needs root to mount a tmpfs' };
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `cannot mount a tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()})` };
  }
  let mounted = true;
  return {
    dir,
    unmount() {
      if (!mounted) return;
      mounted = false;
      // Lazy: a handle a failed test left open does not keep the mount (nor the next run) hostage.
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Remounts a mounted tmpfs read-only or read-write. */
export function remount(dir: string, mode: 'ro' | 'rw'): void {
  execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });
}

/** Writes `path` until the file system is full (ENOSPC); returns the bytes written. Remove the file to free them. */
export function fillDisk(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, chunk, 0, chunk.length);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        // The last partial chunk: fill to the last byte.
        for (let size = chunk.length >> 1; size >= 1; size >>= 1) {
          try {
            written += writeSync(fd, chunk, 0, size);
          } catch {}
        }
        return written;
      }
    }
  } finally {
    closeSync(fd);
  }
}

export function freeDisk(path: string): void {
  unlinkSync(path);
}
