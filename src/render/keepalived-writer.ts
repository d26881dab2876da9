/**
 * A small printer for keepalived's configuration grammar: keyword/value lines inside
 * `{ }` blocks, two-space indentation, `"..."` for values that are several words.
 *
 * It is the last line of defence against injection. Values are validated against strict
 * grammars long before they get here, but the writer still refuses anything that could
 * change how keepalived tokenises a line: whitespace splits tokens, `"` opens a string,
 * `#` and `!` start comments, `$` expands a parameter, `{` and `}` open and close blocks,
 * and a newline starts a new statement. Refusing means throwing: a renderer bug must never
 * become a config file.
 */

/** One value on a line: a bare token, a number, or a quoted string. */
export type KeepalivedValue = string | number | QuotedString;

/** A value printed between double quotes (may contain single spaces, nothing else special). */
export interface QuotedString {
  readonly quoted: string;
}

/** Marks `text` to be printed as `"text"`. */
export function quoted(text: string): QuotedString {
  return { quoted: text };
}

/** characters that change keepalived's tokenising, plus control characters and backslash */
const FORBIDDEN_IN_TOKEN = /[\s"'#!${}\\\u0000-\u001f\u007f]/;
/** inside quotes a plain space is fine; everything else above stays forbidden */
const FORBIDDEN_IN_QUOTED = /[\t\n\r\v\f"'#!${}\\\u0000-\u001f\u007f]/;

/** Thrown when a value cannot be printed safely. */
export class KeepalivedWriterError extends Error {
  override readonly name = "KeepalivedWriterError";
}

/** A bare token as printed, or a throw when it could be misread by keepalived. */
export function formatToken(token: string): string {
  if (token.length === 0) throw new KeepalivedWriterError("refusing to print an empty keepalived token");
  if (FORBIDDEN_IN_TOKEN.test(token)) {
    throw new KeepalivedWriterError(`refusing to print keepalived token ${JSON.stringify(token)}: it contains a character keepalived would misread`);
  }
  return token;
}

/** `"text"`, or a throw when the text would break out of the quotes. */
export function formatQuoted(text: string): string {
  if (text.length === 0 || text.trim() !== text || text.includes("  ")) {
    throw new KeepalivedWriterError(`refusing to print quoted keepalived value ${JSON.stringify(text)}: empty or irregular spacing`);
  }
  if (FORBIDDEN_IN_QUOTED.test(text)) {
    throw new KeepalivedWriterError(`refusing to print quoted keepalived value ${JSON.stringify(text)}: it contains a character keepalived would misread`);
  }
  return `"${text}"`;
}

/**
 * A number in its canonical text: integers without `.0`, fractions in plain decimal
 * (never exponent notation, which keepalived's timer parser does not read), at most
 * microsecond precision.
 */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) throw new KeepalivedWriterError(`refusing to print non-finite number ${String(n)}`);
  // safe integers print the same through String() as through BigInt, without the allocation
  if (Number.isSafeInteger(n)) return String(n);
  if (Number.isInteger(n)) return Math.abs(n) < 1e21 ? BigInt(n).toString() : formatNumberFailure(n);
  const fixed = n.toFixed(6).replace(/0+$/, "").replace(/\.$/, "");
  return fixed === "-0" ? "0" : fixed;
}

function formatNumberFailure(n: number): never {
  throw new KeepalivedWriterError(`refusing to print out-of-range number ${String(n)}`);
}

function formatValue(v: KeepalivedValue): string {
  if (typeof v === "number") return formatNumber(v);
  if (typeof v === "string") return formatToken(v);
  return formatQuoted(v.quoted);
}

/** Lines a writer printed, with the depth they were printed at (see KeepalivedWriter.capture). */
export interface Repeatable {
  readonly depth: number;
  readonly lines: readonly string[];
}

/**
 * The printer context threaded through the small `renderX(…, w)` functions: it owns the
 * indentation and every escaping decision, so renderers only say what to print.
 */
export class KeepalivedWriter {
  private readonly out: string[] = [];
  private depth = 0;

  /** @param indentUnit @default "  " */
  constructor(private readonly indentUnit = "  ") {}

  /** `keyword value value ...`; undefined values are skipped so optional tails read naturally. */
  line(keyword: string, ...values: (KeepalivedValue | undefined)[]): this {
    const parts = [formatToken(keyword)];
    for (const v of values) if (v !== undefined) parts.push(formatValue(v));
    this.push(parts.join(" "));
    return this;
  }

  /** `keyword value` when value is defined, nothing otherwise. */
  optional(keyword: string, value: KeepalivedValue | undefined): this {
    if (value !== undefined) this.line(keyword, value);
    return this;
  }

  /** A bare `keyword` when flag is true. */
  flag(keyword: string, on: boolean | undefined): this {
    if (on === true) this.line(keyword);
    return this;
  }

  /** `header... {`, the body indented one level, `}`. */
  block(header: readonly KeepalivedValue[], body: () => void): this {
    const [keyword, ...values] = header;
    if (typeof keyword !== "string") throw new KeepalivedWriterError("a block needs a keyword");
    const parts = [formatToken(keyword), ...values.map(formatValue), "{"];
    this.push(parts.join(" "));
    this.depth++;
    try {
      body();
    } finally {
      this.depth--;
    }
    this.push("}");
    return this;
  }

  /** `# text`: text is checked like a quoted value so a comment cannot smuggle a newline. */
  comment(text: string): this {
    if (/[\n\r\u0000-\u001f\u007f]/.test(text)) throw new KeepalivedWriterError("refusing to print a comment with control characters");
    this.push(`# ${text}`);
    return this;
  }

  /**
   * Appends a top-level text another writer printed at depth 0 (its lines joined by
   * newlines) as one piece: a director's config shares a thousand `virtual_server` blocks
   * with its peer, and copying them line by line cost most of the render.
   */
  appendText(text: string): this {
    if (this.depth !== 0) throw new KeepalivedWriterError("a shared text is appended at the top level only");
    if (text !== "") this.out.push(text);
    return this;
  }

  /**
   * Prints what `body` prints and returns it as a Repeatable, which `repeat` prints again
   * at the same depth without formatting it again (the same checks under every real server).
   */
  capture(body: () => void): Repeatable {
    const from = this.out.length;
    body();
    return { depth: this.depth, lines: this.out.slice(from) };
  }

  /** Prints a captured piece again; it must be at the depth it was captured at. */
  repeat(piece: Repeatable): this {
    if (piece.depth !== this.depth) throw new KeepalivedWriterError("a captured piece is repeated at the depth it was printed at only");
    for (const line of piece.lines) this.out.push(line);
    return this;
  }

  /** The lines printed so far. */
  lines(): readonly string[] {
    return this.out;
  }

  /** An empty line between top-level blocks. */
  blank(): this {
    this.out.push("");
    return this;
  }

  /** The text printed so far, ending with one newline. */
  toString(): string {
    return this.out.length === 0 ? "" : `${this.out.join("\n")}\n`;
  }

  private push(text: string): void {
    this.out.push(this.indentUnit.repeat(this.depth) + text);
  }
}
