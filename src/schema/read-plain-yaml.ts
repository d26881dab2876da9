/**
 * A fast reader for the plain YAML that specs are written in: block mappings and
 * sequences, one-line flow collections (`{ address: 192.0.2.10, weight: 3 }`, `[eth0]`),
 * plain and one-line quoted scalars, comments. The `yaml` package reads a 10k-service spec
 * (18 MB) in tens of seconds because it builds a full document with source ranges; specs
 * only need those ranges to point at problems.
 *
 * The contract: for any text, readPlainYaml() either returns exactly the value
 * `parseDocument(text, { uniqueKeys: true }).toJS()` returns for an error-free document
 * (YAML 1.2, core schema), or undefined. It answers undefined for everything outside the
 * subset (anchors, aliases, tags, block scalars, multi-line scalars or flow collections,
 * quoted keys, escapes, tabs, CR, document markers, duplicate keys, odd indentation) and
 * for anything that could be an error, and the caller then uses the full parser, which
 * also produces the located messages. test/property/read-plain-yaml.test.ts holds it to
 * the contract.
 */

import { MAX_DEPTH } from "./input-limits.js";

/** Not in the subset: the caller falls back to the full parser. */
class Unsupported extends Error {}

function unsupported(): never {
  throw new Unsupported();
}

/**
 * Content lines (comments and blank lines removed), by index: indentation, and where the
 * text after it starts and ends (trailing spaces left out) in the whole text. Lines are
 * read in place: a slice per line cost a string each, and reading a slice is slower. The
 * table is typed arrays: a 50k-service spec has 1.7M lines, and three arrays of numbers on
 * the heap that large made the garbage collector's full passes longer.
 */
interface Lines {
  text: string;
  count: number;
  indents: Int32Array;
  starts: Int32Array;
  ends: Int32Array;
}

/** Plain keys that resolve to strings under the core schema. */
const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$./-]*$/;
const NOT_STRING_KEY = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE|[Nn]ull|NULL)$/;

/** Characters that may not open a plain scalar (YAML 1.2 c-indicator, less `-?:` handled apart). */
const INDICATOR_START = new Set([",", "[", "]", "{", "}", "#", "&", "*", "!", "|", ">", "'", '"', "%", "@", "`"]);
const FLOW_INDICATOR = new Set([",", "[", "]", "{", "}"]);

/** `,[]{}` */
function isFlowIndicator(c: number): boolean {
  return c === 44 || c === 91 || c === 93 || c === 123 || c === 125;
}

/** Control characters, the C1 range, Unicode line separators and the BOM: the full parser decides. */
const UNUSUAL_CHARACTER = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;

/** [A-Za-z0-9_$./-] */
function isKeyChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 45 && c <= 57) || c === 95 || c === 36;
}

/** One or more ASCII digits and nothing else. */
function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** A plain scalar resolved as the core schema does (yaml's schema/core: null, bool, int, float, string). */
function resolvePlain(s: string): unknown {
  if (s === "~" || s === "null" || s === "Null" || s === "NULL") return null;
  const c = s.charCodeAt(0);
  // only these first characters can start a non-string
  if (!(c === 43 || c === 45 || c === 46 || (c >= 48 && c <= 57) || c === 70 || c === 84 || c === 102 || c === 116)) return s;
  if (c >= 70) {
    // F, T, f, t: the booleans, else a string
    if (/^(?:[Tt]rue|TRUE)$/.test(s)) return true;
    if (/^(?:[Ff]alse|FALSE)$/.test(s)) return false;
    return s;
  }
  // the common cases without a regular expression: a decimal integer, and text with two
  // or more dots (addresses), which no core-schema number has
  if (isDigits(s)) return parseInt(s, 10);
  const dot = s.indexOf(".");
  if (dot >= 0 && s.indexOf(".", dot + 1) >= 0) return s;
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.substring(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.substring(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s)) {
    return s.slice(-3).toLowerCase() === "nan" ? NaN : s[0] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s)) return parseFloat(s);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
  return s;
}

/** yaml refuses implicit keys longer than 1024 characters; stay well inside. */
const MAX_KEY_LENGTH = 1000;

/**
 * Keys already found to be plain string keys. A spec repeats a few dozen keys thousands of
 * times: reusing the one string of a known key skips the checks, and object properties set
 * with the same string need no fresh lookup in V8's string table.
 */
const knownKeys = new Set<string>();
/** The known keys by their first character code (keys are ASCII: PLAIN_KEY). */
const knownByFirst: string[][] = Array.from({ length: 128 }, () => []);

/**
 * The known key that `text` has at `at` and that ends exactly at `end` (a position), or,
 * with `end` -1, is followed by a character no key has; else undefined.
 */
function knownKeyAt(text: string, at: number, end: number): string | undefined {
  const candidates = knownByFirst[text.charCodeAt(at)];
  if (candidates === undefined) return undefined;
  for (const k of candidates) {
    if (!text.startsWith(k, at)) continue;
    const stop = at + k.length;
    if (end >= 0 ? stop === end : !isKeyChar(text.charCodeAt(stop))) return k;
  }
  return undefined;
}

/** A plain key that resolves to a string under the core schema. */
function isPlainKey(key: string): boolean {
  if (knownKeys.has(key)) return true;
  if (!PLAIN_KEY.test(key) || NOT_STRING_KEY.test(key)) return false;
  if (knownKeys.size < 256) {
    knownKeys.add(key);
    knownByFirst[key.charCodeAt(0)]!.push(key);
  }
  return true;
}

/** Sets a mapping entry; duplicate, overlong and prototype-changing keys leave the subset. */
function setKey(map: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__" || key.length > MAX_KEY_LENGTH || Object.prototype.hasOwnProperty.call(map, key)) unsupported();
  map[key] = value;
}

/** Reads one line's inline value (flow collection, quoted or plain scalar) and checks only a comment follows. */
class InlineReader {
  pos = 0;
  /** the end of the line's text: nothing at or after it is read */
  end = 0;
  /** collections open around the value being read (the block ones around the line included) */
  private depth = 0;
  constructor(private s: string) {}

  /**
   * Reads `s` from `pos` to `end` next, inside `depth` open block collections: one reader
   * serves every line (a spec has hundreds of thousands).
   */
  reset(s: string, pos: number, end: number, depth: number): this {
    this.s = s;
    this.pos = pos;
    this.end = end;
    this.depth = depth;
    return this;
  }

  /** The character code at `i`, NaN at and after the line's end. */
  private code(i: number): number {
    return i < this.end ? this.s.charCodeAt(i) : NaN;
  }

  /** The value that starts at pos and runs to the end of the line (a trailing comment allowed). */
  wholeLine(): unknown {
    const value = this.value(false);
    const end = this.pos;
    this.spaces();
    // only a comment may follow, and it needs a space before its `#`
    if (this.pos < this.end && (this.s.charCodeAt(this.pos) !== 35 || this.pos === end)) unsupported();
    return value;
  }

  private spaces(): void {
    while (this.code(this.pos) === 32) this.pos++;
  }

  private value(flow: boolean): unknown {
    const c = this.code(this.pos);
    if (c === 123) return this.flowMap(); // {
    if (c === 91) return this.flowSeq(); // [
    if (c === 34) return this.doubleQuoted(); // "
    if (c === 39) return this.singleQuoted(); // '
    // a short run of decimal digits (weights, ports) is the integer resolvePlain would
    // give, read without slicing it out first
    if (c >= 48 && c <= 57) {
      const n = this.shortInteger(flow);
      if (n >= 0) return n;
    }
    return resolvePlain(this.plain(flow));
  }

  /**
   * The decimal integer of at most 15 digits at pos, when the plain scalar there is just
   * that (what resolvePlain makes of it: parseInt); -1, with pos unmoved, for anything else.
   */
  private shortInteger(flow: boolean): number {
    const s = this.s, start = this.pos, n = this.end;
    let i = start, value = 0;
    while (i < n && i - start < 16) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
      i++;
    }
    if (i - start > 15) return -1;
    // the scalar ends here: at the line's end, or before spaces, or (in a flow) before `,]}`
    const c = i < n ? s.charCodeAt(i) : NaN;
    if (!(Number.isNaN(c) || c === 32 || (flow && (c === 44 || c === 93 || c === 125)))) return -1;
    if (c === 32) {
      // spaces then more of the same scalar (`1 2`) or `: `: the general way decides
      let j = i;
      while (j < n && s.charCodeAt(j) === 32) j++;
      const d = j < n ? s.charCodeAt(j) : NaN;
      if (!(Number.isNaN(d) || d === 35 || (flow && (d === 44 || d === 93 || d === 125)))) return -1;
    }
    this.pos = i;
    return value;
  }

  private doubleQuoted(): string {
    const end = this.s.indexOf('"', this.pos + 1);
    if (end < 0 || end >= this.end) unsupported();
    const text = this.s.slice(this.pos + 1, end);
    if (text.includes("\\")) unsupported(); // escapes: the full parser
    this.pos = end + 1;
    return text;
  }

  private singleQuoted(): string {
    let out = "";
    let i = this.pos + 1;
    for (;;) {
      const end = this.s.indexOf("'", i);
      if (end < 0 || end >= this.end) unsupported();
      out += this.s.slice(i, end);
      if (this.code(end + 1) === 39) {
        out += "'";
        i = end + 2;
        continue;
      }
      this.pos = end + 1;
      return out;
    }
  }

  /** A plain scalar: up to a comment, `: `, or in flow context a flow indicator; trailing spaces dropped. */
  private plain(flow: boolean): string {
    const s = this.s;
    const start = this.pos;
    const n = this.end;
    if (start >= n) unsupported();
    const first = s[start]!;
    if (INDICATOR_START.has(first)) unsupported();
    if (first === "-" || first === "?" || first === ":") {
      const next = start + 1 < n ? s[start + 1] : undefined;
      if (next === undefined || next === " " || (flow && FLOW_INDICATOR.has(next))) unsupported();
    }
    // char codes and a table: this loop runs over nearly every character of a spec
    let i = start;
    let end = start;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 32) {
        if (i + 1 < n && s.charCodeAt(i + 1) === 35) break; // ` #`: a comment
        i++;
        continue;
      }
      if (c === 58) {
        const next = s.charCodeAt(i + 1);
        // `key: value` inside a value, or a flow key: not ours to decide
        if (i + 1 >= n || next === 32 || (flow && isFlowIndicator(next))) break;
      }
      if (flow && isFlowIndicator(c)) break;
      i++;
      end = i;
    }
    this.pos = end;
    return s.slice(start, end);
  }

  /** A key in a flow mapping: plain (string-valued) or quoted, then `:` and a space. */
  private flowKey(): string {
    const c = this.code(this.pos);
    let key: string;
    if (c === 34 || c === 39) {
      key = c === 34 ? this.doubleQuoted() : this.singleQuoted();
      this.spaces();
    } else {
      const start = this.pos;
      // a known key counts only where the key characters end with it (a key has no
      // spaces or newlines, so a match cannot run past the line's end)
      const known = knownKeyAt(this.s, start, -1);
      if (known !== undefined) {
        key = known;
        this.pos += known.length;
      } else {
        while (this.pos < this.end && isKeyChar(this.s.charCodeAt(this.pos))) this.pos++;
        key = this.s.slice(start, this.pos);
        if (!isPlainKey(key)) unsupported();
      }
    }
    if (this.code(this.pos) !== 58 || this.code(this.pos + 1) !== 32) unsupported(); // `: `
    this.pos += 2;
    return key;
  }

  private flowMap(): Record<string, unknown> {
    // deeper than the limit: the full parser reports it (and this reader's recursion stays bounded)
    if (++this.depth > MAX_DEPTH) unsupported();
    const map: Record<string, unknown> = {};
    this.pos++;
    this.spaces();
    if (this.code(this.pos) === 125) {
      this.pos++;
      this.depth--;
      return map;
    }
    // char codes: , 44  } 125 (NaN past the end)
    for (;;) {
      const key = this.flowKey();
      this.spaces();
      const c = this.code(this.pos);
      if (c === 44 || c === 125 || this.pos >= this.end) unsupported(); // an empty value
      setKey(map, key, this.value(true));
      this.spaces();
      const sep = this.code(this.pos++);
      if (sep === 125) {
        this.depth--;
        return map;
      }
      if (sep !== 44) unsupported();
      this.spaces();
      const next = this.code(this.pos);
      if (next === 125 || next === 44) unsupported(); // a trailing or empty entry
    }
  }

  private flowSeq(): unknown[] {
    if (++this.depth > MAX_DEPTH) unsupported();
    const seq: unknown[] = [];
    this.pos++;
    this.spaces();
    if (this.code(this.pos) === 93) {
      this.pos++;
      this.depth--;
      return seq;
    }
    for (;;) {
      const c = this.code(this.pos);
      if (c === 44 || c === 93 || Number.isNaN(c)) unsupported();
      seq.push(this.value(true));
      this.spaces();
      const sep = this.code(this.pos++);
      if (sep === 93) {
        this.depth--;
        return seq;
      }
      if (sep !== 44) unsupported(); // includes `[a: b]`, an implicit mapping
      this.spaces();
    }
  }
}

/** The block structure over content lines (comments and blank lines removed). */
class BlockReader {
  i = 0;
  /** block collections open around the current line */
  private depth = 0;
  private readonly inline = new InlineReader("");
  private readonly text: string;
  private readonly indents: Int32Array;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly count: number;
  constructor(lines: Lines) {
    this.text = lines.text;
    this.count = lines.count;
    this.indents = lines.indents;
    this.starts = lines.starts;
    this.ends = lines.ends;
  }

  /** The indentation of line `i`; -1 past the last line (less than any indentation). */
  private indentAt(i: number): number {
    return i < this.count ? this.indents[i]! : -1;
  }

  /** Line `i` is a sequence item: `-` alone or followed by a space. */
  private isSeqItem(i: number): boolean {
    const start = this.starts[i]!;
    return this.text.charCodeAt(start) === 45 && (start + 1 === this.ends[i] || this.text.charCodeAt(start + 1) === 32);
  }

  /** The node whose first line is the current one, at exactly `indent`. */
  node(indent: number): unknown {
    if (this.indentAt(this.i) !== indent) unsupported();
    return this.isSeqItem(this.i) ? this.sequence(indent) : this.mapping(indent, this.starts[this.i]!, this.ends[this.i]!, indent);
  }

  /**
   * A block mapping at `indent`. The first entry's text (from `from` to `to`) is given apart
   * because in a sequence item (`- key: value`) it shares a line with the dash.
   */
  private mapping(indent: number, from: number, to: number, firstColumn: number): Record<string, unknown> {
    if (++this.depth > MAX_DEPTH) unsupported();
    const text = this.text;
    const map: Record<string, unknown> = {};
    let column = firstColumn;
    for (;;) {
      const colon = text.indexOf(":", from);
      if (colon <= from || colon >= to) unsupported();
      const key = knownKeyAt(text, from, colon) ?? text.slice(from, colon);
      if (!isPlainKey(key)) unsupported();
      if (colon + 1 < to && text.charCodeAt(colon + 1) !== 32) unsupported();
      let rest = colon + 1;
      while (rest < to && text.charCodeAt(rest) === 32) rest++;
      this.i++;
      if (rest >= to || text.charCodeAt(rest) === 35) {
        if (rest < to && text.charCodeAt(rest - 1) !== 32) unsupported();
        setKey(map, key, this.nestedValue(indent));
      } else {
        setKey(map, key, this.inline.reset(text, rest, to, this.depth).wholeLine());
        this.noDeeper(column);
      }
      const nextIndent = this.indentAt(this.i);
      if (nextIndent < indent) {
        this.depth--;
        return map;
      }
      if (nextIndent > indent || this.isSeqItem(this.i)) unsupported();
      from = this.starts[this.i]!;
      to = this.ends[this.i]!;
      column = nextIndent;
    }
  }

  /** The value of `key:` with nothing after it: a deeper block, a sequence at the same indent, or null. */
  private nestedValue(indent: number): unknown {
    const nextIndent = this.indentAt(this.i);
    if (nextIndent < indent) return null;
    if (nextIndent === indent) return this.isSeqItem(this.i) ? this.sequence(indent) : null;
    return this.node(nextIndent);
  }

  private sequence(indent: number): unknown[] {
    if (++this.depth > MAX_DEPTH) unsupported();
    const text = this.text;
    const seq: unknown[] = [];
    for (;;) {
      const start = this.starts[this.i]!, end = this.ends[this.i]!;
      const lineIndent = this.indents[this.i]!;
      let at = start + 1;
      while (at < end && text.charCodeAt(at) === 32) at++;
      const first = at < end ? text.charCodeAt(at) : NaN;
      if (at >= end || first === 35) {
        this.i++;
        const nextIndent = this.indentAt(this.i);
        seq.push(nextIndent > indent ? this.node(nextIndent) : null);
      } else if (first === 45 && (at + 1 === end || text.charCodeAt(at + 1) === 32)) {
        unsupported(); // `- - a`
      } else if (startsMappingAt(text, at, end)) {
        const column = lineIndent + (at - start);
        seq.push(this.mapping(column, at, end, column));
      } else {
        seq.push(this.inline.reset(text, at, end, this.depth).wholeLine());
        this.i++;
        this.noDeeper(indent);
      }
      const nextIndent = this.indentAt(this.i);
      if (nextIndent < indent || (nextIndent === indent && !this.isSeqItem(this.i))) {
        // a mapping key at the sequence's indent ends a `key:\n- item` sequence
        this.depth--;
        return seq;
      }
      if (nextIndent > indent) unsupported();
    }
  }

  /** After an inline value nothing may be indented deeper (that would continue a multi-line scalar). */
  private noDeeper(indent: number): void {
    if (this.indentAt(this.i) > indent) unsupported();
  }
}

const MAPPING_START = /[A-Za-z_$][A-Za-z0-9_$./-]*:/y;

/**
 * `key: ...` or `key:` with a plain key, from `at` to the line's end `end`: the start of a
 * compact mapping in a sequence item.
 */
function startsMappingAt(text: string, at: number, end: number): boolean {
  // a flow collection or a quoted scalar cannot start a key: no need to ask the expression
  const c = text.charCodeAt(at);
  if (c === 123 || c === 91 || c === 34 || c === 39) return false;
  MAPPING_START.lastIndex = at;
  if (!MAPPING_START.test(text)) return false;
  const after = MAPPING_START.lastIndex;
  return after <= end && (after === end || text.charCodeAt(after) === 32);
}

/** Splits the text into content lines; undefined when a line leaves the subset. */
function contentLines(text: string): Lines | undefined {
  let capacity = 1024;
  let indents: Int32Array = new Int32Array(capacity), starts: Int32Array = new Int32Array(capacity), ends: Int32Array = new Int32Array(capacity);
  let count = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    let indent = start;
    while (text.charCodeAt(indent) === 32) indent++;
    if (indent < end && text.charCodeAt(indent) !== 35) {
      let stop = end;
      while (stop > indent && text.charCodeAt(stop - 1) === 32) stop--;
      // document markers and directives are the full parser's business
      if (indent === start && (text.startsWith("---", indent) || text.startsWith("...", indent) || text.charCodeAt(indent) === 37)) return undefined;
      if (count === capacity) {
        capacity *= 2;
        indents = grown(indents, capacity);
        starts = grown(starts, capacity);
        ends = grown(ends, capacity);
      }
      indents[count] = indent - start;
      starts[count] = indent;
      ends[count] = stop;
      count++;
    }
    start = end + 1;
  }
  return { text, count, indents, starts, ends };
}

function grown(a: Int32Array, capacity: number): Int32Array {
  const b = new Int32Array(capacity);
  b.set(a);
  return b;
}

/**
 * The value of a YAML text in the plain subset, exactly as the `yaml` package reads it, or
 * undefined when the text is outside the subset (the caller then uses the full parser).
 */
export function readPlainYaml(text: string): { value: unknown } | undefined {
  if (UNUSUAL_CHARACTER.test(text)) return undefined;
  const lines = contentLines(text);
  if (!lines || lines.count === 0) return undefined;
  const reader = new BlockReader(lines);
  try {
    // a lone scalar document is not a spec: leave it to the full parser
    const start = lines.starts[0]!, end = lines.ends[0]!;
    const firstIsItem = text.charCodeAt(start) === 45 && (start + 1 === end || text.charCodeAt(start + 1) === 32);
    if (!firstIsItem && !startsMappingAt(text, start, end)) return undefined;
    const value = reader.node(lines.indents[0]!);
    if (reader.i !== lines.count) return undefined;
    return { value };
  } catch {
    // outside the subset, or (a bug) anything else: the full parser decides either way
    return undefined;
  }
}
