/**
 * keepalived.conf text -> a generic block tree with a source location on every node.
 *
 * It reads lines the way keepalived's own reader does (lib/parser.c, 2.2.x):
 * - `#` and `!` start a comment anywhere outside double quotes; `\#` and `\!` are literal;
 * - `"..."` is one token (the quotes are dropped, `quoted` remembers them);
 * - `{` and `}` outside quotes are block delimiters even without spaces around them, and
 *   a `{` alone on the line after a keyword opens that keyword's block;
 * - `include PATH` (exactly one argument) splices other files in place, at any depth; a
 *   relative PATH resolves against the including file's directory; globs match several files.
 * What the importer cannot follow is reported, never dropped silently: `@id` conditional
 * lines, `$NAME=...` parameter definitions and `$NAME` references, `~SEQ` lines, missing or
 * cyclic includes, stray braces and unterminated quotes are `unsupported-construct` warnings.
 * Pure: includes are read through the callbacks the caller passes in.
 */
import { posix } from "node:path";
import type { Issue, SourceLocation } from "../issues.js";
import { unsupported } from "./import-findings.js";

/** One statement: `keyword arg...`, with a block when it was followed by `{ ... }`. */
export interface ConfNode {
  keyword: string;
  args: string[];
  /** per arg: true when it was written in double quotes */
  quoted: boolean[];
  /** present iff the statement opened a `{ }` block */
  children?: ConfNode[];
  location: SourceLocation;
}

/** How the parser reaches included files. */
export interface ConfSources {
  /** contents of an included file, undefined when it cannot be read */
  readInclude?: (path: string) => string | undefined;
  /** files matching a glob pattern, sorted; without it a glob include is reported */
  expandGlob?: (pattern: string) => string[];
}

/** The block tree of a file and its includes, with everything the parser could not follow. */
export interface ParsedConf {
  nodes: ConfNode[];
  issues: Issue[];
  /** every file read, the main one first */
  files: string[];
}

interface Token {
  text: string;
  quoted: boolean;
  column: number;
}

type Item =
  | { kind: "stmt"; tokens: Token[]; location: SourceLocation; dropped: boolean }
  | { kind: "open"; location: SourceLocation }
  | { kind: "close"; location: SourceLocation };

const MAX_INCLUDE_DEPTH = 16;
const GLOB_CHARS = /[*?[{]/;
const PARAMETER_REF = /\$\{?([A-Za-z_]\w*)/;

/** Tokens of one physical line, comments removed; `{`/`}` come back as their own tokens. */
function tokenizeLine(line: string, onUnterminated: (column: number) => void): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v") {
      i++;
      continue;
    }
    if (c === "#" || c === "!") break;
    if (c === "{" || c === "}") {
      tokens.push({ text: c, quoted: false, column: i + 1 });
      i++;
      continue;
    }
    if (c === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) {
        onUnterminated(i + 1);
        tokens.push({ text: line.slice(i + 1).trimEnd(), quoted: true, column: i + 1 });
        break;
      }
      tokens.push({ text: line.slice(i + 1, end), quoted: true, column: i + 1 });
      i = end + 1;
      continue;
    }
    const start = i;
    let text = "";
    while (i < n) {
      const d = line[i]!;
      if (/\s/.test(d) || d === "{" || d === "}" || d === '"' || d === "#" || d === "!") break;
      if (d === "$" && line[i + 1] === "{") {
        // ${NAME} is a parameter reference, not a block
        const close = line.indexOf("}", i + 2);
        const end = close < 0 ? n : close + 1;
        text += line.slice(i, end);
        i = end;
        continue;
      }
      if (d === "\\" && (line[i + 1] === "#" || line[i + 1] === "!")) {
        text += line[i + 1];
        i += 2;
        continue;
      }
      text += d;
      i++;
    }
    tokens.push({ text, quoted: false, column: start + 1 });
  }
  return tokens;
}

class Reader {
  readonly issues: Issue[] = [];
  readonly files: string[] = [];
  readonly items: Item[] = [];

  constructor(private readonly sources: ConfSources) {}

  private report(location: SourceLocation, keyword: string, message: string, hint?: string): void {
    this.issues.push(unsupported(location, [keyword], message, hint));
  }

  readFile(text: string, file: string, stack: readonly string[]): void {
    this.files.push(file);
    const lines = text.split(/\r?\n/);
    for (let index = 0; index < lines.length; index++) {
      const raw = lines[index]!;
      const at = (column: number): SourceLocation => ({ file, line: index + 1, column, lineText: raw });
      const trimmed = raw.trimStart();
      const indent = raw.length - trimmed.length + 1;
      if (trimmed === "") continue;

      if (trimmed.startsWith("@")) {
        const marker = /^@\^?[^\s]*/.exec(trimmed)![0];
        this.report(
          at(indent), marker,
          `conditional configuration line (${marker}) not imported: it applies only when keepalived runs with -i/--config-id, which the spec does not model`,
          "write the configuration of the director you import without @ lines",
        );
        continue;
      }
      const definition = /^\$([A-Za-z_]\w*)\s*=/.exec(trimmed);
      if (definition) {
        let last = index;
        let continued = trimmed.trimEnd().endsWith("\\");
        while (continued && last + 1 < lines.length) {
          last++;
          continued = lines[last]!.trimEnd().endsWith("\\");
        }
        this.report(
          at(indent), `$${definition[1]!}`,
          `parameter definition $${definition[1]!} not imported: keepalived parameters (\`$NAME=...\`) are not supported${last > index ? ` (lines ${index + 1}-${last + 1})` : ""}`,
          "expand the parameter by hand before importing",
        );
        index = last;
        continue;
      }
      if (trimmed.startsWith("~SEQ")) {
        this.report(at(indent), "~SEQ", "~SEQ line not imported: keepalived sequences are not supported", "expand the sequence by hand before importing");
        continue;
      }

      const tokens = tokenizeLine(raw, (column) =>
        this.report(at(column), '"', "unterminated quote: the rest of the line is taken as one string"),
      );
      if (tokens.length === 0) continue;

      const first = tokens[0]!;
      if ((first.text === "include" || first.text === "includea") && !first.quoted && tokens.length === 2 && tokens[1]!.text !== "{" && tokens[1]!.text !== "}") {
        this.include(tokens[1]!.text, at(first.column), file, [...stack, file]);
        continue;
      }
      this.pushLine(tokens, at);
    }
  }

  private pushLine(tokens: Token[], at: (column: number) => SourceLocation): void {
    let current: Token[] = [];
    const flush = () => {
      if (current.length === 0) return;
      const location = at(current[0]!.column);
      const ref = current.find((t) => PARAMETER_REF.test(t.text));
      let dropped = false;
      if (ref) {
        const name = `$${PARAMETER_REF.exec(ref.text)![1]!}`;
        dropped = true;
        this.report(
          at(ref.column), name,
          `statement '${current[0]!.text}' not imported: it uses the keepalived parameter ${name}, which the importer does not expand`,
          "expand the parameter by hand before importing",
        );
      }
      this.items.push({ kind: "stmt", tokens: current, location, dropped });
      current = [];
    };
    for (const t of tokens) {
      if (!t.quoted && (t.text === "{" || t.text === "}")) {
        flush();
        this.items.push(t.text === "{" ? { kind: "open", location: at(t.column) } : { kind: "close", location: at(t.column) });
      } else {
        current.push(t);
      }
    }
    flush();
  }

  private include(pattern: string, location: SourceLocation, from: string, stack: readonly string[]): void {
    const path = posix.isAbsolute(pattern) ? posix.normalize(pattern) : posix.join(posix.dirname(from), pattern);
    if (stack.length > MAX_INCLUDE_DEPTH) {
      this.report(location, "include", `include ${pattern} not followed: includes nest deeper than ${MAX_INCLUDE_DEPTH} levels`);
      return;
    }
    let files: string[];
    if (GLOB_CHARS.test(path)) {
      if (!this.sources.expandGlob) {
        this.report(location, "include", `include ${pattern} not followed: no way to expand globs was given`);
        return;
      }
      files = this.sources.expandGlob(path);
    } else {
      files = [path];
    }
    if (files.length === 0) {
      this.report(location, "include", `include ${pattern}: no file matches ${path} (keepalived skips it too)`);
      return;
    }
    for (const f of files) {
      if (stack.includes(f)) {
        this.report(location, "include", `include ${pattern}: ${f} includes itself (cycle ${[...stack, f].join(" -> ")}); not followed`);
        continue;
      }
      const text = this.sources.readInclude?.(f);
      if (text === undefined) {
        this.report(location, "include", `include ${pattern}: cannot read ${f}; its content is not imported`);
        continue;
      }
      this.readFile(text, f, stack);
    }
  }
}

function toNode(item: Extract<Item, { kind: "stmt" }>): ConfNode {
  const [head, ...rest] = item.tokens;
  return {
    keyword: head!.text,
    args: rest.map((t) => t.text),
    quoted: rest.map((t) => t.quoted),
    location: item.location,
  };
}

/** Builds the tree from the flat item stream; brace problems become issues. */
function buildTree(items: readonly Item[], issues: Issue[]): ConfNode[] {
  let i = 0;
  const block = (opener: ConfNode | undefined): ConfNode[] => {
    const out: ConfNode[] = [];
    while (i < items.length) {
      const item = items[i++]!;
      if (item.kind === "close") {
        if (opener) return out;
        issues.push(unsupported(item.location, ["}"], "extra '}' ignored (keepalived ignores it too)"));
        continue;
      }
      if (item.kind === "open") {
        issues.push(unsupported(item.location, ["{"], "'{' without a keyword before it: the block is not imported"));
        block({ keyword: "{", args: [], quoted: [], location: item.location });
        continue;
      }
      const node = toNode(item);
      if (items[i]?.kind === "open") {
        i++;
        node.children = block(node);
      }
      if (!item.dropped) out.push(node);
    }
    if (opener) {
      issues.push(unsupported(opener.location, [opener.keyword], `block '${opener.keyword}' is not closed with '}' before the end of the configuration`));
    }
    return out;
  };
  return block(undefined);
}

/**
 * Parses keepalived.conf text into a block tree. `file` names the text in locations and is
 * the base for relative includes. Never throws: problems come back as warnings.
 */
export function parseKeepalivedConf(text: string, file: string, sources: ConfSources = {}): ParsedConf {
  const reader = new Reader(sources);
  reader.readFile(text, file, []);
  const issues = [...reader.issues];
  const nodes = buildTree(reader.items, issues);
  return { nodes, issues, files: reader.files };
}

/** `keyword arg arg` as written (quoted args in quotes), for messages. */
export function statementText(node: ConfNode): string {
  return [node.keyword, ...node.args.map((a, i) => (node.quoted[i] ? `"${a}"` : a))].join(" ");
}
