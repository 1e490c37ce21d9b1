import cliProgress from 'cli-progress';

export interface ProgressOptions {
  /** In a log (not a terminal): a line at every tenth of the work (default true); false: nothing. */
  lines?: boolean;
  /** On a terminal: clear the bar when the work is finished instead of leaving it (default false). */
  transient?: boolean;
}

/**
 * Progress of long work on stderr: counts, rate and ETA. On a terminal, a live bar
 * (cli-progress) redrawn in place; in a log (CI, a file) a line at every tenth of the work, so
 * logs stay short. Other lines of the same command go through log(), above the bar.
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
    private readonly options: ProgressOptions = {},
  ) {
    if (stream?.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          stream,
          format: `${label} [{bar}] {percentage}% | {value}/{total} | {counts}{rate} | {duration_formatted}, ETA {eta_formatted}`,
          barsize: 24,
          etaBuffer: 20,
          fps: 5,
          clearOnComplete: options.transient ?? false,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, this.payload(0));
      this.unrefTimer();
    }
  }

  /** `count` pieces of work ended with `outcome`, bringing `units` (frames, clips) in all. */
  tick(outcome: 'done' | 'failed' | 'skipped', units = 0, count = 1): void {
    this[outcome] += count;
    this.units += units;
    this.render(false);
  }

  finish(): void {
    this.render(true);
  }

  /** A line of the command's own log: above a live bar (which is redrawn below it), else as is. */
  log(line: string): void {
    if (this.stream === null) return;
    if (this.bar?.isActive) {
      this.stream.write(`\r\x1b[2K${line}\n`);
      // cli-progress redraws a bar only when its text changed; this one moved down a line.
      (this.bar as unknown as { lastDrawnString: string }).lastDrawnString = '';
      this.bar.render();
      this.unrefTimer();
    } else {
      this.stream.write(`${line}\n`);
    }
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
    if (this.options.lines === false) return;
    const worked = this.done + this.failed;
    const eta = worked > 0 ? ((this.total - finished) * seconds) / worked : Number.NaN;
    const rate = this.unitName && seconds > 0 ? `, ${(this.units / seconds).toFixed(0)} ${this.unitName}/s` : '';
    const line =
      `${this.label}: ${finished}/${this.total} (${this.done} done, ${this.skipped} skipped, ${this.failed} failed)` +
      `${rate}, ${seconds.toFixed(0)}s${final || finished >= this.total || !Number.isFinite(eta) ? '' : `, ETA ${eta.toFixed(0)}s`}`;
    const decile = this.total > 0 ? Math.floor((finished * 10) / this.total) : 10;
    if ((final && decile < 10) || decile > this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`${line}\n`);
    }
  }
}

/**
 * Work in phases, one bar each (every epoch's training, then its validation): a phase's first
 * report opens its bar and closes the one before. Work done before a resume counts as skipped.
 */
export class PhasedProgress {
  private current: { phase: string; progress: Progress; reported: number } | null = null;

  constructor(
    private readonly unitName: string,
    private readonly stream: NodeJS.WriteStream | null = process.stderr,
    private readonly options: ProgressOptions = {},
  ) {}

  /** `done` of `total` steps of `phase` are finished; the last one brought `units` (clips, say). */
  step(phase: string, done: number, total: number, units: number): void {
    let opened = false;
    if (this.current?.phase !== phase) {
      this.current?.progress.finish();
      this.current = { phase, progress: new Progress(phase, total, this.unitName, this.stream, this.options), reported: 0 };
      opened = true;
    }
    const current = this.current;
    if (current.reported < done - 1) current.progress.tick('skipped', 0, done - 1 - current.reported);
    // A phase's first step ended before its bar started: its units would count as taking no time.
    current.progress.tick('done', opened ? 0 : units);
    current.reported = done;
    if (done >= total) this.finish();
  }

  log(line: string): void {
    if (this.current) this.current.progress.log(line);
    else this.stream?.write(`${line}\n`);
  }

  finish(): void {
    this.current?.progress.finish();
    this.current = null;
  }
}
