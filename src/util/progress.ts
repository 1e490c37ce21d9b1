import cliProgress from 'cli-progress';

/**
 * Progress of long work on stderr: counts, rate and ETA. On a terminal, a live bar
 * (cli-progress) redrawn in place; in a log (CI, a file) a line at every tenth of the work, so
 * logs stay short.
 */
export class Progress {
  private done = 0;
  private failed = 0;
  private skipped = 0;
  private units = 0;
  private readonly started = Date.now();
  private lastDecile = -1;
  private readonly bar: cliProgress.SingleBar | null = null;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unitName = '',
    private readonly stream: NodeJS.WriteStream | null = process.stderr,
  ) {
    if (stream?.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          stream,
          format: `${label} [{bar}] {percentage}% | {value}/{total} | {counts}{rate} | {duration_formatted}, ETA {eta_formatted}`,
          barsize: 24,
          etaBuffer: 20,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, this.payload(0));
      this.unrefTimer();
    }
  }

  tick(outcome: 'done' | 'failed' | 'skipped', units = 0): void {
    this[outcome] += 1;
    this.units += units;
    this.render(false);
  }

  finish(): void {
    this.render(true);
  }

  /**
   * cli-progress redraws from a timer that would keep the process alive if the work failed
   * before finish(); an unreferenced timer lets the command end with its error.
   */
  private unrefTimer(): void {
    (this.bar as unknown as { timer?: NodeJS.Timeout | null }).timer?.unref();
  }

  private payload(seconds: number): { counts: string; rate: string } {
    const counts = this.failed || this.skipped ? `${this.done} done, ${this.skipped} skipped, ${this.failed} failed` : `${this.done} done`;
    return { counts, rate: this.unitName && seconds > 0 ? `, ${(this.units / seconds).toFixed(0)} ${this.unitName}/s` : '' };
  }

  private render(final: boolean): void {
    if (this.stream === null) return;
    const finished = this.done + this.failed + this.skipped;
    const seconds = (Date.now() - this.started) / 1000;
    if (this.bar) {
      this.bar.update(finished, this.payload(seconds));
      if (final) this.bar.stop();
      else this.unrefTimer();
      return;
    }
    const worked = this.done + this.failed;
    const eta = worked > 0 ? ((this.total - finished) * seconds) / worked : Number.NaN;
    const rate = this.unitName && seconds > 0 ? `, ${(this.units / seconds).toFixed(0)} ${this.unitName}/s` : '';
    const line =
      `${this.label}: ${finished}/${this.total} (${this.done} done, ${this.skipped} skipped, ${this.failed} failed)` +
      `${rate}, ${seconds.toFixed(0)}s${final || !Number.isFinite(eta) ? '' : `, ETA ${eta.toFixed(0)}s`}`;
    const decile = this.total > 0 ? Math.floor((finished * 10) / this.total) : 10;
    if ((final && decile < 10) || decile > this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`${line}\n`);
    }
  }
}
