/**
 * A progress line on stderr: counts, rate and ETA. On a terminal it redraws one line; in a log
 * it prints a line at every tenth of the work, so CI logs stay short.
 */
export class Progress {
  private done = 0;
  private failed = 0;
  private skipped = 0;
  private units = 0;
  private readonly started = Date.now();
  private lastDecile = -1;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unitName = '',
    private readonly stream: NodeJS.WriteStream | null = process.stderr,
  ) {
    this.tty = Boolean(stream?.isTTY);
  }

  tick(outcome: 'done' | 'failed' | 'skipped', units = 0): void {
    this[outcome] += 1;
    this.units += units;
    this.render(false);
  }

  finish(): void {
    this.render(true);
  }

  private render(final: boolean): void {
    if (this.stream === null) return;
    const finished = this.done + this.failed + this.skipped;
    const seconds = (Date.now() - this.started) / 1000;
    const worked = this.done + this.failed;
    const eta = worked > 0 ? ((this.total - finished) * seconds) / worked : Number.NaN;
    const rate = this.unitName && seconds > 0 ? `, ${(this.units / seconds).toFixed(0)} ${this.unitName}/s` : '';
    const line =
      `${this.label}: ${finished}/${this.total} (${this.done} done, ${this.skipped} skipped, ${this.failed} failed)` +
      `${rate}, ${seconds.toFixed(0)}s${final || !Number.isFinite(eta) ? '' : `, ETA ${eta.toFixed(0)}s`}`;
    if (this.tty) {
      this.stream.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
      return;
    }
    const decile = this.total > 0 ? Math.floor((finished * 10) / this.total) : 10;
    if ((final && decile < 10) || decile > this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`${line}\n`);
    }
  }
}
