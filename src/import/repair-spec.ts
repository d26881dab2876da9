/**
 * Keeps an imported spec valid without re-implementing the rules: every piece of the spec
 * remembers the source node it came from (its provenance); the spec then goes through the
 * real parseSpec() and validate(), and each error is traced back along its path to the
 * deepest piece with an origin. That piece — and everything else derived from the same
 * source node, e.g. the copies a `virtual_server group` made — is dropped and reported,
 * and the spec is checked again until no error is left.
 */
import { hasErrors, type Issue, type IssuePath } from "../issues.js";
import { parseSpec } from "../schema/parse-spec.js";
import type { SpecInput } from "../schema/spec-schema.js";
import { validate } from "../validate/validate.js";
import type { ConfNode } from "./parse-keepalived-conf.js";

type Container = Record<string, unknown> | unknown[];

function isContainer(v: unknown): v is Container {
  return typeof v === "object" && v !== null;
}

/** Where a dropped piece came from: its node, and other nodes it also stands for. */
export interface Origin {
  node: ConfNode;
  aliases: ConfNode[];
}

/** Which source node each object, field and primitive list element of a spec came from. */
export class Provenance {
  private readonly objects = new Map<object, ConfNode[]>();
  private readonly fields = new Map<object, Map<string, ConfNode>>();
  private readonly elements = new Map<unknown[], { value: unknown; node: ConfNode }[]>();

  /** Marks `obj` as made from `nodes` (the first is the one reported); returns it. */
  object<T extends object>(obj: T, nodes: ConfNode | readonly ConfNode[]): T {
    const list = Array.isArray(nodes) ? [...(nodes as readonly ConfNode[])] : [nodes as ConfNode];
    this.objects.set(obj, list);
    return obj;
  }

  /** The nodes `obj` was made from, undefined when it has no origin of its own. */
  nodesOf(obj: object): readonly ConfNode[] | undefined {
    return this.objects.get(obj);
  }

  /** Marks the optional field `key` of `container` as made from `node`: dropping deletes the field. */
  field(container: object, key: string, node: ConfNode): void {
    let m = this.fields.get(container);
    if (!m) this.fields.set(container, (m = new Map()));
    m.set(key, node);
  }

  /** Marks a primitive element of `array` (a VIP, a flag, ...) as made from `node`. */
  element(array: unknown[], value: unknown, node: ConfNode): void {
    let list = this.elements.get(array);
    if (!list) this.elements.set(array, (list = []));
    list.push({ value, node });
  }

  /** A deep copy of plain data whose objects, fields and elements keep their origins. */
  clone<T>(value: T): T {
    if (Array.isArray(value)) {
      const out: unknown[] = value.map((v: unknown) => this.clone(v));
      const records = this.elements.get(value);
      if (records) this.elements.set(out, records.map((r) => ({ ...r })));
      const nodes = this.objects.get(value);
      if (nodes) this.objects.set(out, [...nodes]);
      return out as T;
    }
    if (!isContainer(value)) return value;
    const src = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(src)) out[key] = this.clone(src[key]);
    const nodes = this.objects.get(src);
    if (nodes) this.objects.set(out, [...nodes]);
    const fields = this.fields.get(src);
    if (fields) this.fields.set(out, new Map(fields));
    return out as T;
  }

  /** `Object.assign(target, source)` that also carries the field origins of `source`. */
  assign(target: object, source: object): void {
    Object.assign(target, source);
    const fields = this.fields.get(source);
    for (const [key, node] of fields ?? []) this.field(target, key, node);
  }

  /** The origin of the deepest piece along `path` that has one. */
  resolve(root: unknown, path: IssuePath): Origin | undefined {
    let best: Origin | undefined;
    let current: unknown = root;
    for (const part of path) {
      if (!isContainer(current)) break;
      const field = this.fields.get(current)?.get(String(part));
      if (field) best = { node: field, aliases: [] };
      const next: unknown = (current as Record<string, unknown>)[String(part)];
      if (Array.isArray(current) && !isContainer(next)) {
        const el = this.elements.get(current)?.find((e) => e.value === next);
        if (el) best = { node: el.node, aliases: [] };
      }
      if (isContainer(next)) {
        const nodes = this.objects.get(next);
        if (nodes && nodes.length > 0) best = { node: nodes[0]!, aliases: nodes.slice(1) };
      }
      current = next;
    }
    return best;
  }

  /**
   * Removes from `root` every object, field and element made from `node` (objects also
   * when `node` is one of their aliases). Returns the other nodes those objects stood for.
   */
  drop(root: unknown, node: ConfNode): ConfNode[] {
    const aliases = new Set<ConfNode>();
    const hit = (obj: object): boolean => {
      const nodes = this.objects.get(obj);
      if (!nodes?.includes(node)) return false;
      for (const n of nodes) if (n !== node) aliases.add(n);
      return true;
    };
    const visit = (value: unknown): void => {
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--) {
          const el: unknown = value[i];
          if (isContainer(el)) {
            if (hit(el)) value.splice(i, 1);
            else visit(el);
            continue;
          }
          const records = this.elements.get(value);
          const at = records?.findIndex((r) => r.node === node && r.value === el) ?? -1;
          if (at >= 0) {
            value.splice(i, 1);
            records!.splice(at, 1);
          }
        }
        return;
      }
      if (!isContainer(value)) return;
      const obj = value as Record<string, unknown>;
      for (const key of Object.keys(obj)) {
        const child = obj[key];
        if (this.fields.get(obj)?.get(key) === node) {
          delete obj[key];
          continue;
        }
        if (isContainer(child)) {
          if (hit(child)) delete obj[key];
          else visit(child);
        }
      }
    };
    visit(root);
    return [...aliases];
  }
}

/** Called once per source node the repair drops, with the error that made it go. */
export type DropReporter = (origin: Origin, cause: Issue) => void;

const MAX_ROUNDS = 200;

/**
 * Runs parseSpec() and validate() on `spec` (mutated in place), dropping the origin of every
 * error until none is left. Returns the final issues: validate()'s warnings, plus any
 * error no origin explains (a bug in the importer: the caller reports it).
 */
export function repairSpec(spec: SpecInput, prov: Provenance, onDrop: DropReporter): Issue[] {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const parsed = parseSpec(spec);
    const issues = parsed.ok ? validate(parsed.spec) : parsed.issues;
    if (!hasErrors(issues)) return issues;
    const targets = new Map<ConfNode, { origin: Origin; cause: Issue }>();
    for (const issue of issues) {
      if (issue.severity !== "error") continue;
      const origin = prov.resolve(spec, issue.path);
      if (origin && !targets.has(origin.node)) targets.set(origin.node, { origin, cause: issue });
    }
    if (targets.size === 0) return issues;
    for (const { origin, cause } of targets.values()) {
      const more = prov.drop(spec, origin.node);
      onDrop({ node: origin.node, aliases: [...new Set([...origin.aliases, ...more])] }, cause);
    }
  }
  const parsed = parseSpec(spec);
  return parsed.ok ? validate(parsed.spec) : parsed.issues;
}
