/**
 * render: finding one service's lines in renderIpvsadmRules' text without rendering them
 * again. A block is an `-A` line and the `-a` lines after it; `ipvsadm -S -n` prints a
 * service in the same form, so a live dump can be held against a block too.
 */

/**
 * The service blocks of renderIpvsadmRules' text (an `-A` line and its `-a` lines), by
 * the selector on the `-A` line.
 */
export class RuleBlocks {
  /** The blocks of the last text asked for: reading a director's state and planning it both need them. */
  private static last: RuleBlocks | undefined;

  /** The blocks of `rules`, found once for a text used twice in a row. */
  static of(rules: string): RuleBlocks {
    if (RuleBlocks.last?.rules !== rules) RuleBlocks.last = new RuleBlocks(rules);
    return RuleBlocks.last;
  }

  private readonly index = new Map<string, number>();
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  constructor(private readonly rules: string) {
    const n = rules.endsWith("\n") ? rules.length - 1 : rules.length;
    for (let at = rules.startsWith("-A ") ? 0 : -1; at >= 0;) {
      const lineEnd = lineEndAt(rules, at, n);
      const selectorEnd = rules.indexOf(" -s ", at);
      const next = rules.indexOf("\n-A ", at);
      if (selectorEnd > at && selectorEnd < lineEnd) {
        this.index.set(rules.slice(at + 3, selectorEnd), this.starts.length);
        this.starts.push(at);
        this.ends.push(next < 0 || next > n ? n : next);
      }
      at = next < 0 || next >= n ? -1 : next + 1;
    }
  }

  /** The block (its lines, without the last newline) of the service with this selector (serviceSelector). */
  blockOf(selector: string): string | undefined {
    const i = this.index.get(selector);
    return i === undefined ? undefined : this.rules.slice(this.starts[i], this.ends[i]);
  }

  /**
   * The dump's service line from `at` to `lineEnd` and the lines after it up to the next
   * `-A` line are the rules' block of the same selector: the position after that block,
   * or -1.
   */
  endOfSameBlock(text: string, at: number, lineEnd: number): number {
    const selectorEnd = text.indexOf(" -s ", at);
    if (selectorEnd < 0 || selectorEnd > lineEnd) return -1;
    const i = this.index.get(text.slice(at + 3, selectorEnd));
    if (i === undefined) return -1;
    const start = this.starts[i]!, end = this.ends[i]!;
    const next = text.indexOf("\n-A ", lineEnd);
    const blockEnd = next < 0 ? text.length : next;
    // equal lengths first: a changed service seldom keeps its block's length
    return blockEnd - at === end - start && text.slice(at, blockEnd) === this.rules.slice(start, end) ? blockEnd : -1;
  }
}

/** The end of the line that starts at `at`. */
function lineEndAt(text: string, at: number, n: number): number {
  const end = text.indexOf("\n", at);
  return end < 0 || end > n ? n : end;
}
