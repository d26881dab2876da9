/**
 * The state one import threads through its small mapping functions: the findings so far,
 * the source nodes whose content did not make it into the spec, the provenance of every
 * spec piece, and helpers that read keyword values the way keepalived does.
 */
import type { Issue } from "../issues.js";
import type { SpecInput } from "../schema/spec-schema.js";
import { unsupported } from "./import-findings.js";
import type { ConfNode } from "./parse-keepalived-conf.js";
import { Provenance } from "./repair-spec.js";

export type ServiceInput = SpecInput["services"][number];
export type PoolInput = ServiceInput["pool"];
export type RealServerInput = PoolInput["servers"][number];
export type ForwardingInput = NonNullable<RealServerInput["forwarding"]>;
export type HealthCheckInput = NonNullable<PoolInput["healthChecks"]>[number];
export type HttpUrlInput = NonNullable<Extract<HealthCheckInput, { type: "http" }>["urls"]>[number];
export type DirectorInput = SpecInput["directors"][number];
export type VrrpInput = NonNullable<SpecInput["vrrp"]>;
export type InstanceInput = NonNullable<VrrpInput["instances"]>[number];
export type ScriptInput = NonNullable<VrrpInput["scripts"]>[number];
export type SyncDaemonInput = NonNullable<SpecInput["syncDaemon"]>;
export type SyncGroupInput = NonNullable<VrrpInput["syncGroups"]>[number];
export type OverrideInput = NonNullable<DirectorInput["vrrp"]>[string];

/** Why keywords outside the spec's scope are not imported, by keyword. */
const NOT_MODELLED: Record<string, string> = {};
const reasons: Array<[string, string[]]> = [
  ["e-mail alerts are not modelled", [
    "notification_email", "notification_email_from", "smtp_server", "smtp_connect_timeout", "smtp_helo_name",
    "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker",
  ]],
  ["notify scripts are not modelled", [
    "notify", "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify_deleted",
    "notify_master_rx_lower_pri", "notify_up", "notify_down", "notify_fifo", "notify_fifo_script",
    "vrrp_notify_fifo", "vrrp_notify_fifo_script", "lvs_notify_fifo", "lvs_notify_fifo_script",
  ]],
  ["static addresses, routes and rules are not managed by pulumi-ipvs: keep them in the director's network configuration", [
    "static_ipaddress", "static_routes", "static_rules",
  ]],
  ["routes and rules that follow VRRP state are not modelled", ["virtual_routes", "virtual_rules"]],
  ["BFD is not modelled", ["BFD_CHECK", "bfd_instance", "track_bfd"]],
  ["process tracking is not modelled", ["vrrp_track_process", "track_process"]],
  ["VMAC interfaces are not modelled", ["use_vmac", "vmac_xmit_base"]],
  ["gratuitous ARP/NA tuning is not modelled", [
    "garp_master_delay", "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat",
    "garp_lower_prio_delay", "garp_lower_prio_repeat", "garp_interval", "gna_interval", "garp_group",
    "vrrp_garp_master_delay", "vrrp_garp_master_repeat", "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat", "vrrp_garp_lower_prio_delay", "vrrp_garp_lower_prio_repeat",
    "vrrp_garp_interval", "vrrp_gna_interval",
  ]],
  ["network namespaces are not modelled", ["net_namespace", "net_namespace_ipvs"]],
];
for (const [reason, keys] of reasons) for (const k of keys) NOT_MODELLED[k] = reason;

/** A comment the YAML writer attaches to a spec path. */
export interface SpecNote {
  path: ReadonlyArray<string | number>;
  comment: string;
}

/** Findings, dropped nodes and provenance of one import. */
export class ImportContext {
  readonly findings: Issue[] = [];
  /** nodes (with their subtrees) whose content is not in the spec */
  readonly dropped = new Set<ConfNode>();
  readonly prov = new Provenance();
  private readonly seen = new Set<string>();
  private readonly parents = new Map<ConfNode, ConfNode>();

  constructor(tree: readonly ConfNode[]) {
    const walk = (nodes: readonly ConfNode[], parent: ConfNode | undefined) => {
      for (const n of nodes) {
        if (parent) this.parents.set(n, parent);
        if (n.children) walk(n.children, n);
      }
    };
    walk(tree, undefined);
  }

  /** The keywords from the top-level block down to `node`. */
  trail(node: ConfNode): string[] {
    const out = [node.keyword];
    for (let p = this.parents.get(node); p; p = this.parents.get(p)) out.unshift(p.keyword);
    return out;
  }

  private add(node: ConfNode, message: string, hint?: string): void {
    const key = `${node.location.file}:${node.location.line}:${node.location.column}:${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.findings.push(unsupported(node.location, this.trail(node), message, hint));
  }

  /** Reports `node` (and its block) as not imported. */
  drop(node: ConfNode, message: string, hint?: string): void {
    this.dropped.add(node);
    this.add(node, message, hint);
  }

  /** Marks `node` as not imported without a finding of its own (another finding covers it). */
  markDropped(node: ConfNode): void {
    this.dropped.add(node);
  }

  /** Reports a change: `node` is imported, but not exactly as written. */
  note(node: ConfNode, message: string, hint?: string): void {
    this.add(node, message, hint);
  }

  /** Drops a keyword the importer does not know or the spec does not model. */
  dropUnknown(node: ConfNode, where: string): void {
    const reason = NOT_MODELLED[node.keyword];
    if (reason !== undefined) this.drop(node, `${node.keyword}: ${reason}; not imported`);
    else this.drop(node, `${node.keyword} (in ${where}) is not supported by the importer; not imported`);
  }

  /** Drops the block of a keyword that takes none (keepalived would not read it either). */
  rejectBlock(node: ConfNode): boolean {
    if (!node.children) return false;
    this.drop(node, `${node.keyword} takes no '{ }' block; not imported`);
    return true;
  }

  /** The keyword's single value, or a finding when it has none. */
  value(node: ConfNode, what = "a value"): string | undefined {
    if (this.rejectBlock(node)) return undefined;
    const v = node.args[0];
    if (v === undefined) {
      this.drop(node, `${node.keyword} needs ${what}; not imported`);
      return undefined;
    }
    if (node.args.length > 1) this.note(node, `${node.keyword}: extra words after '${v}' ignored (${node.args.slice(1).join(" ")})`);
    return v;
  }

  /**
   * A number value (keepalived timers may be fractional); a finding and undefined when it
   * is not a number or outside [min, max].
   */
  number(node: ConfNode, opts: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
    const v = this.value(node, "a number");
    if (v === undefined) return undefined;
    return this.parseNumber(node, v, opts);
  }

  /** Parses `text` (an argument of `node`) as a number; a finding when it is not one. */
  parseNumber(node: ConfNode, text: string, opts: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
    const ok = opts.integer ? /^-?\d+$/.test(text) : /^-?(\d+(\.\d*)?|\.\d+)$/.test(text);
    const n = Number(text);
    if (!ok || !Number.isFinite(n)) {
      this.drop(node, `${node.keyword}: '${text}' is not ${opts.integer ? "an integer" : "a number"}; not imported`);
      return undefined;
    }
    if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
      this.drop(node, `${node.keyword}: ${text} is outside ${opts.min ?? "-inf"}..${opts.max ?? "inf"}; not imported`);
      return undefined;
    }
    return n;
  }

  /** A keepalived BOOL: the bare keyword, or on|off|true|false|yes|no after it. */
  flag(node: ConfNode): boolean | undefined {
    if (this.rejectBlock(node)) return undefined;
    const v = node.args[0];
    if (v === undefined) return true;
    if (["on", "true", "yes"].includes(v)) return true;
    if (["off", "false", "no"].includes(v)) return false;
    this.drop(node, `${node.keyword}: '${v}' is not one of on, off, true, false, yes, no; not imported`);
    return undefined;
  }
}

/**
 * argv of a command keepalived runs (script, misc_path, quorum_up, ...): a quoted argument
 * is split at whitespace (keepalived splits it the same way, honouring inner quotes), an
 * unquoted one is one word.
 */
export function commandArgv(node: ConfNode): string[] {
  const out: string[] = [];
  node.args.forEach((arg, i) => {
    if (!node.quoted[i]) {
      out.push(arg);
      return;
    }
    const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
    for (let m = re.exec(arg); m; m = re.exec(arg)) out.push(m[1] ?? m[2] ?? m[3] ?? "");
  });
  return out;
}
