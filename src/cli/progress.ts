/**
 * Progress of long work on many directors, on stderr. On a terminal: one status row per
 * director (phase, counts, elapsed), redrawn in place every second and at every change. Not
 * on a terminal (CI logs): one plain line per phase per director, `[lb1] reading state`.
 */

/** Where progress goes. */
export interface ProgressOutput {
  write: (text: string) => void;
  /** a terminal: redraw in place; otherwise plain lines */
  tty: boolean;
  /** the clock (tests pass a fake) */
  now?: () => number;
  /** redraw interval on a terminal, in ms (0: only at changes) */
  tickMs?: number;
  /** most rows a terminal shows (its height): more directors than that get a compact view */
  maxRows?: number;
  /** not a terminal: a `still ...` line for a phase that has run this long without news, in ms (0: none) */
  heartbeatMs?: number;
}

interface Row {
  director: string;
  phase: string;
  /** when its first phase began (none yet: waiting) */
  started?: number;
  /** set when the director's work ended: the elapsed time stops */
  ended?: number;
  /** when its last plain line was written */
  said?: number;
}

/** Seconds with one decimal: `12.3 s`. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

const UP_AND_CLEAR = (n: number) => `\x1b[${n}F\x1b[J`;

export class Progress {
  private readonly rows: Row[] = [];
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly out: ProgressOutput) {
    this.now = out.now ?? Date.now;
  }

  /** Lists the directors up front, in this order, as `waiting` (the terminal's rows keep it). */
  expect(directors: readonly string[]): void {
    for (const director of directors) {
      if (!this.rows.some((r) => r.director === director)) this.rows.push({ director, phase: "waiting" });
    }
  }

  /**
   * Records a director's phase (`reading state`, `applying 66000 changes`); `end` stops its
   * clock; `ttyOnly`: only for the status rows (a failure the command reports in its own line)
   */
  phase(director: string, text: string, opts: { end?: boolean; ttyOnly?: boolean } = {}): void {
    const now = this.now();
    let row = this.rows.find((r) => r.director === director);
    if (!row) {
      row = { director, phase: text };
      this.rows.push(row);
    }
    row.phase = text;
    // a director that ends without having started (not attempted) shows no time
    if (row.started === undefined && opts.end !== true) row.started = now;
    if (opts.end) row.ended = now;
    else delete row.ended;
    if (!this.out.tty) {
      if (opts.ttyOnly !== true) this.out.write(`[${director}] ${text}\n`);
      row.said = now;
      const beat = this.out.heartbeatMs ?? 30_000;
      if (this.timer === undefined && beat > 0) {
        this.timer = setInterval(() => this.heartbeat(), Math.max(1000, beat / 6));
        this.timer.unref();
      }
      return;
    }
    this.draw();
    const tick = this.out.tickMs ?? 1000;
    if (this.timer === undefined && tick > 0) {
      this.timer = setInterval(() => this.draw(), tick);
      this.timer.unref();
    }
  }

  /**
   * Not a terminal: one `[lb1] still applying 66000 change(s) (45.0 s)` line for each
   * director whose phase has gone on for heartbeatMs since its last line, so a long phase
   * never leaves a CI log silent (the timer calls this; tests call it with a fake clock).
   */
  heartbeat(): void {
    const beat = this.out.heartbeatMs ?? 30_000;
    if (this.out.tty || beat <= 0) return;
    const now = this.now();
    for (const r of this.rows) {
      if (r.started === undefined || r.ended !== undefined || r.said === undefined || now - r.said < beat) continue;
      r.said = now;
      this.out.write(`[${r.director}] still ${r.phase} (${seconds(now - r.started)})\n`);
    }
  }

  /** Milliseconds since the director's first phase (until its end). */
  elapsed(director: string): number {
    const row = this.rows.find((r) => r.director === director);
    return row?.started !== undefined ? (row.ended ?? this.now()) - row.started : 0;
  }

  /** Writes other output (the same terminal, maybe) without tearing the status rows. */
  around(write: () => void): void {
    if (!this.out.tty || this.drawn === 0) return write();
    this.out.write(UP_AND_CLEAR(this.drawn));
    this.drawn = 0;
    write();
    this.draw();
  }

  /**
   * The status rows as drawn on a terminal (without control sequences): one per director,
   * or, with more directors than maxRows, a count line and the rows of the running and
   * failed directors only (as many as fit).
   */
  status(): string[] {
    const max = Math.max(3, this.out.maxRows ?? 24);
    const row = (r: Row, width: number) => `${r.director.padEnd(width)}  ${r.phase}${r.started !== undefined ? `  ${seconds((r.ended ?? this.now()) - r.started)}` : ""}`;
    if (this.rows.length <= max) {
      const width = Math.max(0, ...this.rows.map((r) => r.director.length));
      return this.rows.map((r) => row(r, width));
    }
    const failed = (r: Row) => /FAILED/.test(r.phase);
    const running = this.rows.filter((r) => r.started !== undefined && r.ended === undefined);
    const failures = this.rows.filter((r) => r.ended !== undefined && failed(r));
    const waiting = this.rows.filter((r) => r.started === undefined && r.ended === undefined).length;
    const stopped = this.rows.filter((r) => r.started === undefined && r.ended !== undefined).length;
    const done = this.rows.length - running.length - failures.length - waiting - stopped;
    const counts = [`${done} done`, `${running.length} running`, `${waiting} waiting`, `${failures.length} FAILED`, ...(stopped > 0 ? [`${stopped} not attempted`] : [])];
    const shown = [...failures, ...running];
    const room = max - 1;
    const visible = shown.length > room ? shown.slice(0, room - 1) : shown;
    const width = Math.max(0, ...visible.map((r) => r.director.length));
    return [
      `${this.rows.length} directors: ${counts.join(", ")}`,
      ...visible.map((r) => row(r, width)),
      ...(visible.length < shown.length ? [`... and ${shown.length - visible.length} more running`] : []),
    ];
  }

  private draw(): void {
    const lines = this.status();
    this.out.write(`${this.drawn > 0 ? UP_AND_CLEAR(this.drawn) : ""}${lines.map((l) => `${l}\n`).join("")}`);
    this.drawn = lines.length;
  }

  /** Stops redrawing; on a terminal the last status stays on the screen. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.out.tty && this.rows.length > 0) this.draw();
    this.drawn = 0;
  }
}
