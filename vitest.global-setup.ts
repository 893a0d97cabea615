import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Gives the test run a temporary folder of its own and removes it when the run ends. Many tests
 * write runs, checkpoints and exports under `os.tmpdir()` (some hundreds of MB a run); they leave
 * them there, and so do the processes they start, so the folders piled up run after run until the
 * disk was full and CI failed on ENOSPC. `os.tmpdir()` follows TMPDIR, which the forked test workers
 * and every process they start inherit, so pointing it here gathers everything in one place.
 */
export function setup(): () => void {
  const folder = mkdtempSync(join(tmpdir(), 'parcnet-test-run-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = folder;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(folder, { recursive: true, force: true });
  };
}
