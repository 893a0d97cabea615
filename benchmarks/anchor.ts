// The PyTorch anchor: the official ParC-Net-XS (CIFAR stem) in Debian's PyTorch, run by
// ../shared/anchors/torch_speed.py in a child process, so that our figures are read beside
// PyTorch's from the same sitting. The project never contains the official code: the script
// imports it from the folder PARCNET_OFFICIAL names (../shared/anchors/README.md says how to make
// one). Without PARCNET_OFFICIAL the anchor is skipped, and says so.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One thread count's line of torch_speed.py --json. */
export interface AnchorResult {
  threads: number;
  batch: number;
  train_images_per_second: number;
  eval_images_per_second: number;
  /** Peak resident memory of the PyTorch process so far, MB (it only grows). */
  max_rss_mb: number;
}

const repository = fileURLToPath(new URL('../', import.meta.url));
/** Where torch_speed.py lives: PARCNET_ANCHORS, else ../shared/anchors beside the repository. */
const anchors = process.env.PARCNET_ANCHORS ?? resolve(repository, '../shared/anchors');

/** Why the anchor cannot run here, or null when it can. */
export function anchorMissing(): string | null {
  if (!process.env.PARCNET_OFFICIAL) return 'PARCNET_OFFICIAL is not set (see ../shared/anchors/README.md)';
  if (!existsSync(resolve(anchors, 'torch_speed.py'))) return `${anchors}/torch_speed.py not found (set PARCNET_ANCHORS)`;
  return null;
}

/** Runs torch_speed.py with these thread counts, batch and timed steps; null (printed) when the anchor is skipped. */
export async function runTorchAnchor(threads: number[], batch: number, steps: number): Promise<AnchorResult[] | null> {
  const missing = anchorMissing();
  if (missing) {
    console.log(`PyTorch anchor skipped: ${missing}`);
    return null;
  }
  const python = process.env.PARCNET_PYTHON ?? '/usr/bin/python3';
  const args = [resolve(anchors, 'torch_speed.py'), '--threads', ...threads.map(String), '--batch', String(batch), '--steps', String(steps), '--json'];
  const stdout = await new Promise<string>((done, fail) => {
    execFile(python, args, { env: process.env, maxBuffer: 1 << 20 }, (error, out, err) => {
      if (error) fail(new Error(`PyTorch anchor: ${python} ${args.join(' ')} failed: ${err || error.message}`));
      else done(out);
    });
  });
  return stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as AnchorResult);
}
