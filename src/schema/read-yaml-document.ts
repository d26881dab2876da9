/**
 * The full YAML reader for spec files (the `yaml` package, with source positions), made safe
 * for any text: it never throws, and every problem comes back with the offset it is at.
 *
 * - Depth: the parser that builds the concrete syntax tree keeps its open collections on a
 *   stack of its own (no recursion), and it is driven here one token at a time: the text is
 *   refused at the token that opens the collection MAX_DEPTH + 1 levels deep, before the
 *   recursive stages (composing, toJS, the schema) ever see it.
 * - Duplicate keys are found here, with one set per mapping: the package's own check
 *   compares every key with every earlier key of its mapping (100k keys took minutes).
 * - Aliases: the number of aliases and anchors is bounded, and so is what the aliases add
 *   when expanded; an alias to an enclosing node (a cycle) and one to no anchor are refused.
 *   The package's own alias count is turned off: it looks up every alias in the whole
 *   document again, and its limit (100) refused specs that share a block more often.
 */
import { Composer, isAlias, isMap, isPair, isScalar, isSeq, Lexer, LineCounter, Parser, type CST, type Document, type Node } from "yaml";
import { error, type Issue, type IssueCode } from "../issues.js";
import { MAX_ALIAS_EXPANSION, MAX_ALIASES, MAX_ANCHORS, MAX_DEPTH, MAX_SYNTAX_ISSUES } from "./input-limits.js";

/** A problem at an offset of the text. */
export interface YamlProblem {
  code: IssueCode;
  message: string;
  offset: number;
}

/** A read document (absent when reading stopped early) and what is wrong with it. */
export interface YamlRead {
  doc?: Document.Parsed;
  lineCounter: LineCounter;
  problems: YamlProblem[];
}

/** Thrown from inside the token stream to stop composing at too deep a nesting. */
class TooDeep {
  constructor(readonly offset: number) {}
}

/** Open collections on the parser's stack (the stack also holds the document and scalars). */
function openCollections(stack: readonly CST.Token[]): number {
  let n = 0;
  for (const t of stack) if (t.type === "block-map" || t.type === "block-seq" || t.type === "flow-collection") n++;
  return n;
}

/** The syntax tree's tokens, refusing the text where collections nest deeper than MAX_DEPTH. */
function* syntaxTokens(text: string, lineCounter: LineCounter): Generator<CST.Token> {
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  for (const lexeme of new Lexer().lex(text)) {
    const offset = parser.offset;
    yield* parser.next(lexeme);
    // the stack is longer than the nesting (it holds the document too): count only when it could matter
    if (parser.stack.length > MAX_DEPTH && openCollections(parser.stack) > MAX_DEPTH) throw new TooDeep(offset);
  }
  yield* parser.end();
}

function tooDeep(offset: number): YamlProblem {
  return { code: "too-deep", message: `nested deeper than ${MAX_DEPTH} levels (a spec needs about ten)`, offset };
}

/** Duplicate keys, and the aliases' count, targets and expansion (see the file comment). */
function checkNodes(doc: Document.Parsed, problems: YamlProblem[]): void {
  const anchorByName = new Map<string, Node>();
  /** expanded sizes of anchored nodes, once walked */
  const sizes = new Map<Node, number>();
  /** anchored nodes being walked: an alias to one of them is a cycle */
  const open = new Set<Node>();
  let aliases = 0, anchors = 0, added = 0, stopped = false;
  let anchorOverLimit = -1;
  const problem = (code: IssueCode, message: string, offset: number | undefined): void => {
    problems.push({ code, message, offset: offset ?? 0 });
  };
  /** the node's expanded size (aliases counted as what they stand for); recursion is bounded by MAX_DEPTH */
  const walk = (node: unknown): number => {
    if (stopped || node === null || typeof node !== "object") return 0;
    if (isAlias(node)) {
      const at = node.range?.[0];
      if (++aliases > MAX_ALIASES) {
        problem("yaml-alias-limit", `more than ${MAX_ALIASES} aliases in one file`, at);
        stopped = true;
        return 0;
      }
      const source = anchorByName.get(node.source);
      if (source === undefined) {
        problem("yaml-syntax", `alias *${node.source} has no anchor &${node.source} before it`, at);
        return 1;
      }
      if (open.has(source)) {
        problem("yaml-alias-limit", `alias *${node.source} stands for a node that contains it`, at);
        stopped = true;
        return 0;
      }
      const size = sizes.get(source) ?? 1;
      added += size;
      if (added > MAX_ALIAS_EXPANSION) {
        problem("yaml-alias-limit", `aliases expand the file by more than ${MAX_ALIAS_EXPANSION.toLocaleString("en-US")} nodes (an alias bomb)`, at);
        stopped = true;
        return 0;
      }
      return size;
    }
    const n = node as Node & { anchor?: string };
    const anchor = n.anchor;
    if (anchor !== undefined) {
      if (++anchors === MAX_ANCHORS + 1) anchorOverLimit = n.range?.[0] ?? 0;
      anchorByName.set(anchor, n);
      open.add(n);
    }
    let size = 1;
    if (isMap(n)) {
      const keys = new Set<unknown>();
      for (const pair of n.items) {
        const key = pair.key;
        if (isScalar(key) && !(typeof key.value === "number" && Number.isNaN(key.value))) {
          if (keys.has(key.value)) problem("yaml-syntax", "Map keys must be unique", key.range?.[0]);
          else keys.add(key.value);
        }
        size += walk(key) + walk(pair.value);
      }
    } else if (isSeq(n)) {
      for (const item of n.items) size += isPair(item) ? walk(item.key) + walk(item.value) : walk(item);
    }
    if (anchor !== undefined) {
      open.delete(n);
      sizes.set(n, size);
    }
    return size;
  };
  walk(doc.contents);
  if (!stopped && aliases > 0 && anchorOverLimit >= 0) {
    problem("yaml-alias-limit", `more than ${MAX_ANCHORS} anchors in a file that uses aliases`, anchorOverLimit);
  }
}

/**
 * Reads YAML (JSON being YAML) into a document with source positions. Never throws: a text
 * it cannot read comes back with its problems (and without a document when reading stopped
 * before the end). A document with no problems converts to a value with {@link yamlValue}.
 */
export function readYamlDocument(text: string): YamlRead {
  const lineCounter = new LineCounter();
  const problems: YamlProblem[] = [];
  let doc: Document.Parsed | undefined;
  let second: YamlProblem | undefined;
  try {
    // duplicate keys are checked below, in linear time; the package's warnings (collection
    // keys stringified, unknown tags) would go to the process's stderr: the schema speaks instead
    const composer = new Composer({ uniqueKeys: false, logLevel: "error" });
    for (const d of composer.compose(syntaxTokens(text, lineCounter), true, text.length)) {
      if (doc === undefined) {
        doc = d;
        continue;
      }
      second = { code: "yaml-syntax", message: "a spec file holds one document: a second one starts here", offset: d.range[0] };
      break;
    }
  } catch (e) {
    if (e instanceof TooDeep) return { lineCounter, problems: [tooDeep(e.offset)] };
    return { lineCounter, problems: [unreadable(e)] };
  }
  if (doc === undefined) return { lineCounter, problems: [{ code: "yaml-syntax", message: "no document", offset: 0 }] };
  for (const e of doc.errors) {
    const first = e.message.split("\n")[0] ?? e.message;
    problems.push({
      code: e.code === "RESOURCE_EXHAUSTION" ? "too-deep" : "yaml-syntax",
      message: first.replace(/ at line \d+, column \d+.*$/, ""),
      offset: e.pos[0],
    });
  }
  if (second !== undefined) problems.push(second);
  if (doc.errors.length === 0) {
    try {
      checkNodes(doc, problems);
    } catch (e) {
      problems.push(unreadable(e));
    }
  }
  return { doc, lineCounter, problems };
}

/** An exception from the yaml package (a bug there or here): one problem, never a throw. */
function unreadable(e: unknown): YamlProblem {
  if (e instanceof RangeError && /call stack/i.test(e.message)) return tooDeep(0);
  return { code: "yaml-syntax", message: `cannot be read as YAML: ${e instanceof Error ? e.message : String(e)}`, offset: 0 };
}

/** The value of a document {@link readYamlDocument} found no problem in; a problem when even that fails. */
export function yamlValue(doc: Document.Parsed): { value: unknown } | { problem: YamlProblem } {
  try {
    // aliases were checked (count, targets, expansion): the package's own count is off
    return { value: doc.toJS({ maxAliasCount: -1 }) };
  } catch (e) {
    return { problem: unreadable(e) };
  }
}

/**
 * Problems as issues located in `file`; at most MAX_SYNTAX_ISSUES syntax errors (after the
 * first few, most are echoes of the first), then one issue that counts the rest.
 */
export function problemIssues(problems: readonly YamlProblem[], text: string, lineCounter: LineCounter, file: string): Issue[] {
  const issues: Issue[] = [];
  let syntax = 0, skipped = 0;
  for (const p of problems) {
    if (p.code === "yaml-syntax" && ++syntax > MAX_SYNTAX_ISSUES) {
      skipped++;
      continue;
    }
    const pos = lineCounter.linePos(Math.max(0, Math.min(p.offset, text.length)));
    issues.push({ ...error(p.code, [], p.message), location: { file, line: pos.line, column: pos.col, lineText: sourceLine(text, lineCounter, pos.line) } });
  }
  if (skipped > 0) issues.push(error("yaml-syntax", [], `${skipped} more YAML syntax error${skipped === 1 ? "" : "s"} not shown`));
  return issues;
}

/** Line `line` (1-based) of `text`, without its line break. */
function sourceLine(text: string, lineCounter: LineCounter, line: number): string {
  const start = lineCounter.lineStarts[line - 1];
  if (start === undefined) return "";
  let end = text.indexOf("\n", start);
  if (end < 0) end = text.length;
  if (end > start && text.charCodeAt(end - 1) === 13) end--;
  return text.slice(start, end);
}
