import cliProgress from 'cli-progress';

/**
 * The training progress bar (cli-progress): batches done, loss, images/s and ETA. On a terminal it
 * redraws in place; in a log file (no TTY) it prints a line every 30 s instead.
 */
export class ProgressBar {
  private readonly bar: cliProgress.SingleBar | null;

  /** A bar on stderr; with `enabled` false every method does nothing. */
  constructor(enabled: boolean) {
    this.bar = enabled
      ? new cliProgress.SingleBar(
          {
            format: '{phase} |{bar}| {value}/{total} | loss {loss} | {rate} img/s | ETA {eta_formatted}',
            barsize: 24,
            hideCursor: true,
            noTTYOutput: true,
            notTTYSchedule: 30_000,
            etaBuffer: 50,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  }

  /** Begins a bar labelled `phase` with `total` steps, `done` of them already done. */
  start(phase: string, total: number, done = 0): void {
    this.bar?.start(total, done, { phase, loss: '-', rate: '-' });
  }

  /** Moves the bar to `done` steps; a loss or an images/s given replaces the one shown. */
  update(done: number, values: { loss?: number; imagesPerSecond?: number }): void {
    this.bar?.update(done, {
      ...(values.loss !== undefined ? { loss: values.loss.toFixed(4) } : {}),
      ...(values.imagesPerSecond !== undefined ? { rate: values.imagesPerSecond.toFixed(1) } : {}),
    });
  }

  /** Ends the current bar; start begins the next one. */
  stop(): void {
    this.bar?.stop();
  }
}
