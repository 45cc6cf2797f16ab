// A progress bar on stderr. On a terminal it redraws one line in place; elsewhere (make under
// CI, a log file) it prints a plain line at every 10% so logs stay readable. Written with
// synchronous writes: the lifecycle runs block the event loop between samples anyway.
import { writeSync } from 'node:fs';

export class Progress {
  private done = 0;
  private lastDecile = -1;
  private readonly started = Date.now();
  private readonly tty: boolean;
  private label = '';

  constructor(private total: number, private readonly stream = 2) {
    this.tty = Boolean(process.stderr.isTTY) && process.env.TERM !== 'dumb';
  }

  /** More work turned up (e.g. the lifecycle part after the micro part). */
  addTotal(n: number): void {
    this.total += n;
    this.draw();
  }

  step(label: string, n = 1): void {
    this.done = Math.min(this.total, this.done + n);
    this.label = label;
    this.draw();
  }

  /** Set the label without advancing (a long step just started). */
  note(label: string): void {
    this.label = label;
    this.draw();
  }

  /** Print a line above the bar (warnings, section headings). */
  log(line: string): void {
    this.write(this.tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
    if (this.tty) this.draw();
  }

  finish(): void {
    if (this.tty) this.write('\r\x1b[2K');
    this.write(`bench: done in ${this.elapsed()}\n`);
  }

  private elapsed(): string {
    const s = Math.round((Date.now() - this.started) / 1000);
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  }

  private draw(): void {
    const fraction = this.total > 0 ? this.done / this.total : 0;
    if (this.tty) {
      const width = 30;
      const filled = Math.round(fraction * width);
      const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
      const text = `[${bar}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${this.elapsed()} ${this.label}`;
      const columns = process.stderr.columns || 100;
      this.write(`\r\x1b[2K${text.slice(0, columns - 1)}`);
      return;
    }
    const decile = Math.floor(fraction * 10);
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      this.write(`bench: ${String(decile * 10).padStart(3)}% (${this.done}/${this.total}, ${this.elapsed()}) ${this.label}\n`);
    }
  }

  private write(text: string): void {
    try {
      writeSync(this.stream, text);
    } catch {
      // stderr closed or EAGAIN on a non-blocking pipe: the bar is cosmetic
    }
  }
}
