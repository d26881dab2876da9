/**
 * Structural comparison of two keepalived.conf block trees, e.g. an imported original and
 * the config rendered from the imported spec. Each side is reduced to flat facts
 * (`virtual_server tcp/10.0.0.1:80 > real_server 10.0.0.2:8080 > weight` = `1`) after
 * normalising what does not change keepalived's behaviour:
 * - keyword aliases (lb_algo = lvs_sched, lb_kind = lvs_method, nb_get_retry = retry,
 *   lvs_id = router_id, a VRRP instance's lvs_sync_daemon_interface = global lvs_sync_daemon);
 * - keepalived's defaults (scheduler wlc, method NAT, protocol UDP, weight 1, delay_loop 60,
 *   quorum 1, the VRRP priority/state rules, VIP prefix /32 or /128, dev = the instance's
 *   interface, scheduler flag names, TUN = TUN type ipip, ...);
 * - where a setting sits: timers, virtualhost, inhibit_on_failure and alpha are compared
 *   where they take effect (per checker, per url, per real server);
 * - address forms (canonical text) and order (lists are sorted; groups expanded).
 * Keywords neither side explains become facts of their own, so nothing passes unseen;
 * nodes in `ignore` (what the importer reported as not imported) are left out.
 */
import { canonicalAddress, netmaskToPrefix, parsePrefix } from "../model/addresses.js";
import { canonicalFlags } from "../model/normalize.js";
import { SCHEDULER_FLAGS, type SchedulerFlag, type SchedulerName } from "../schema/spec-schema.js";
import { commandArgv } from "./import-context.js";
import { statementText, type ConfNode } from "./parse-keepalived-conf.js";

/** Flat facts of one config: `path` -> value. */
export type ConfFacts = Map<string, string>;

/** Options of {@link describeKeepalivedConf} and {@link compareKeepalivedConfs}. */
export interface CompareOptions {
  /** nodes (with their blocks) to leave out of the original */
  ignore?: ReadonlySet<ConfNode>;
}

/** Facts only the rendered side may add: safety settings every rendered config carries. */
const RENDERED_EXTRAS = new Set([
  "global > enable_script_security", "global > reload_check_config", "global > script_user",
  // keepalived's default router_id is the host name, which a config file does not tell
  "global > router_id",
]);

function canon(addr: string): string {
  try {
    return canonicalAddress(addr);
  } catch {
    return addr;
  }
}

function num(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isFinite(n) && text.trim() !== "" ? String(n) : text;
}

function canonPrefix(text: string): string {
  try {
    const p = parsePrefix(text);
    return `${p.address}/${p.length}`;
  } catch {
    return text;
  }
}

class Extractor {
  readonly facts: ConfFacts = new Map();
  private readonly ignore: ReadonlySet<ConfNode>;
  private readonly trackFiles = new Map<string, ConfNode>();
  private readonly groups = new Map<string, ConfNode>();
  private syncDaemonSeen = false;

  constructor(options: CompareOptions) {
    this.ignore = options.ignore ?? new Set();
  }

  private live(nodes: readonly ConfNode[] | undefined): ConfNode[] {
    return (nodes ?? []).filter((n) => !this.ignore.has(n));
  }

  private set(key: string, value: string | undefined): void {
    if (value === undefined) return;
    let k = key;
    for (let i = 2; this.facts.has(k); i++) k = `${key} #${i}`;
    this.facts.set(k, value);
  }

  private unknown(node: ConfNode, where: string): void {
    const loc = `${node.location.file}:${node.location.line}`;
    this.set(`unexplained ${where} > ${node.keyword} (${loc})`, statementText(node));
  }

  run(nodes: readonly ConfNode[]): ConfFacts {
    const top = this.live(nodes);
    for (const n of top) {
      if (n.keyword === "track_file" && n.args[0] !== undefined) this.trackFiles.set(n.args[0], n);
      if (n.keyword === "virtual_server_group" && n.args[0] !== undefined) this.groups.set(n.args[0], n);
    }
    const syncGroups: string[] = [];
    for (const n of top) {
      switch (n.keyword) {
        case "global_defs": this.globals(n); break;
        case "vrrp_script": this.script(n); break;
        case "vrrp_instance": this.instance(n); break;
        case "vrrp_sync_group": syncGroups.push(this.syncGroup(n)); break;
        case "virtual_server": this.virtualServer(n); break;
        case "track_file": case "virtual_server_group": break; // read where they are used
        default: this.unknown(n, "top level");
      }
    }
    if (syncGroups.length > 0) this.set("vrrp_sync_group", syncGroups.sort().join(" | "));
    return this.facts;
  }

  private globals(block: ConfNode): void {
    for (const n of this.live(block.children)) {
      switch (n.keyword) {
        case "router_id": case "lvs_id": this.set("global > router_id", n.args[0]); break;
        case "lvs_sync_daemon": this.syncDaemon(n.args); break;
        case "lvs_timeouts": {
          const parts: string[] = [];
          for (let i = 0; i + 1 < n.args.length; i += 2) parts.push(`${n.args[i]!}=${num(n.args[i + 1])!}`);
          this.set("global > lvs_timeouts", parts.sort().join(" "));
          break;
        }
        case "script_user": this.set("global > script_user", n.args.join(" ")); break;
        case "enable_script_security": this.set("global > enable_script_security", "on"); break;
        case "reload_check_config": this.set("global > reload_check_config", n.args.join(" ") || "on"); break;
        default: this.unknown(n, "global_defs");
      }
    }
  }

  private syncDaemon(args: readonly string[]): void {
    const [iface, ...rest] = args;
    const keys = new Set(["id", "maxlen", "port", "ttl", "group"]);
    let instance = "";
    let i = 0;
    if (rest[0] !== undefined && !keys.has(rest[0])) {
      instance = rest[0];
      i = 1;
    }
    const opts: Record<string, string> = { id: "0" };
    for (; i + 1 < rest.length; i += 2) opts[rest[i]!] = rest[i]! === "group" ? canon(rest[i + 1]!) : num(rest[i + 1])!;
    const text = [iface ?? "", instance, ...Object.keys(opts).sort().map((k) => `${k}=${opts[k]!}`)].join(" ");
    this.set("global > lvs_sync_daemon", text);
    this.syncDaemonSeen = true;
  }

  private script(block: ConfNode): void {
    const name = block.args[0] ?? "";
    const f: Record<string, string> = { interval: "1", weight: "0", rise: "1", fall: "1" };
    for (const n of this.live(block.children)) {
      switch (n.keyword) {
        case "script": f["script"] = commandArgv(n).join(" "); break;
        case "interval": case "timeout": case "rise": case "fall": f[n.keyword] = num(n.args[0]) ?? ""; break;
        case "weight": f["weight"] = [num(n.args[0]), ...n.args.slice(1)].join(" "); break;
        default: this.unknown(n, `vrrp_script ${name}`);
      }
    }
    for (const k of Object.keys(f).sort()) this.set(`vrrp_script ${name} > ${k}`, f[k]);
  }

  private syncGroup(block: ConfNode): string {
    const name = block.args[0] ?? "";
    const members: string[] = [];
    for (const n of this.live(block.children)) {
      if (NOTIFY.has(n.keyword)) {
        this.set(`vrrp_sync_group ${name} > ${n.keyword}`, commandArgv(n).join(" "));
        continue;
      }
      if (n.keyword !== "group") {
        this.unknown(n, `vrrp_sync_group ${name}`);
        continue;
      }
      for (const m of this.live(n.children)) members.push(m.keyword, ...m.args);
    }
    return `${name}: ${members.sort().join(" ")}`;
  }

  private instance(block: ConfNode): void {
    const name = block.args[0] ?? "";
    const key = (k: string) => `vrrp_instance ${name} > ${k}`;
    const children = this.live(block.children);
    const iface = children.find((n) => n.keyword === "interface")?.args[0] ?? "";
    let state: string | undefined;
    let priority: number | undefined;
    let nopreempt = false;
    let authType: string | undefined;
    const f: Record<string, string> = { advert_int: "1" };
    const addrList = (n: ConfNode) =>
      this.live(n.children).map((l) => {
        const dev = l.args.indexOf("dev");
        return `${canonPrefix(l.keyword)} dev ${dev >= 0 ? l.args[dev + 1] ?? "" : iface}`;
      }).sort().join(", ");
    for (const n of children) {
      switch (n.keyword) {
        case "interface": f["interface"] = iface; break;
        case "state": state = n.args[0]; break;
        case "priority": priority = Number(n.args[0]); break;
        case "nopreempt": nopreempt = true; break;
        case "virtual_router_id": case "advert_int": case "preempt_delay": case "version": case "garp_master_delay":
          f[n.keyword] = num(n.args[0]) ?? "";
          break;
        case "notify_master": case "notify_backup": case "notify_fault": case "notify_stop": case "notify":
          f[n.keyword] = commandArgv(n).join(" ");
          break;
        case "authentication":
          for (const a of this.live(n.children)) {
            if (a.keyword === "auth_type") authType = a.args[0];
            else if (a.keyword === "auth_pass") f["auth_pass"] = (a.args[0] ?? "").slice(0, 8);
            else this.unknown(a, `vrrp_instance ${name} authentication`);
          }
          break;
        case "virtual_ipaddress": f["virtual_ipaddress"] = addrList(n); break;
        case "virtual_ipaddress_excluded": f["virtual_ipaddress_excluded"] = addrList(n); break;
        case "unicast_src_ip": f["unicast_src_ip"] = canon(n.args[0] ?? ""); break;
        case "unicast_peer": f["unicast_peer"] = this.live(n.children).map((l) => canon(l.keyword)).sort().join(" "); break;
        case "track_interface":
        case "track_script":
          f[n.keyword] = this.live(n.children).map((l) => statementText(l)).sort().join(", ");
          break;
        case "lvs_sync_daemon_interface":
          if (!this.syncDaemonSeen) this.syncDaemon([n.args[0] ?? "", name]);
          break;
        default: this.unknown(n, `vrrp_instance ${name}`);
      }
    }
    // keepalived (vrrp.c): no priority -> 255 for MASTER, else 100; no state -> MASTER only at 255;
    // AH clears an initial MASTER; MASTER and priority 255 clear nopreempt
    const base = priority ?? (state === "MASTER" ? 255 : 100);
    let effective = state ?? (base === 255 ? "MASTER" : "BACKUP");
    if (authType === "AH" && effective === "MASTER") effective = "BACKUP";
    if (effective === "MASTER" || base === 255) nopreempt = false;
    f["priority"] = String(base);
    f["state"] = effective;
    f["nopreempt"] = String(nopreempt);
    if (authType !== undefined) f["auth_type"] = authType;
    const firstVip = f["virtual_ipaddress"]?.split(" ")[0] ?? "";
    f["version"] ??= firstVip.includes(":") ? "3" : "2";
    // an emptied list (every entry left out) says nothing
    for (const k of Object.keys(f).sort()) if (f[k] !== "") this.set(key(k), f[k]);
  }

  private virtualServer(block: ConfNode): void {
    const children = this.live(block.children);
    const protocolNode = children.find((n) => n.keyword === "protocol");
    const protocol = (protocolNode?.args[0] ?? "UDP").toLowerCase();
    const familyNode = children.find((n) => n.keyword === "ip_family");
    const servers = children.filter((n) => n.keyword === "real_server");
    const rsFamily = servers[0]?.args[0]?.includes(":") ? "inet6" : "inet";
    const ids: Array<{ key: string; fwmark: boolean; port: number }> = [];
    const [a, b] = block.args;
    const fwmarkId = (mark: string | undefined, family: string | undefined) =>
      ({ key: `fwmark/${family ?? familyNode?.args[0] ?? rsFamily}/${num(mark) ?? ""}`, fwmark: true, port: 0 });
    const addrId = (addr: string, port: string | undefined) => {
      const p = Number(port ?? 0);
      const c = canon(addr);
      return { key: `${protocol}/${c.includes(":") ? `[${c}]` : c}:${p}`, fwmark: false, port: p };
    };
    if (a === "fwmark") ids.push(fwmarkId(b, undefined));
    else if (a === "group") {
      const group = b === undefined ? undefined : this.groups.get(b);
      for (const line of this.live(group?.children)) {
        if (line.keyword === "fwmark") ids.push(fwmarkId(line.args[0], line.args[1]));
        else ids.push(addrId(line.keyword, line.args[0]));
      }
    } else if (a !== undefined) ids.push(addrId(a, b));
    for (const id of ids) this.service(id, children, servers);
  }

  private service(id: { key: string; fwmark: boolean; port: number }, children: readonly ConfNode[], servers: readonly ConfNode[]): void {
    const key = (k: string) => `virtual_server ${id.key} > ${k}`;
    const f: Record<string, string> = { lvs_sched: "wlc", ops: "false", quorum: "1", hysteresis: "0", omega: "false", ha_suspend: "false" };
    const flags: string[] = [];
    let method = "NAT";
    const timers: Record<string, string> = { delay_loop: "60" };
    let virtualhost: string | undefined;
    let inhibit = "false";
    let alpha = "false";
    let sorry: ConfNode | undefined;
    let sorryMethod: string | undefined;
    let persistence: string | undefined;
    let granularity: string | undefined;
    let engine: string | undefined;
    for (const n of children) {
      switch (n.keyword) {
        case "lvs_sched": case "lb_algo": f["lvs_sched"] = n.args[0] ?? ""; break;
        case "lvs_method": case "lb_kind": method = methodText(n.args); break;
        case "protocol": case "ip_family": case "real_server": break; // in the identity / below
        case "persistence_timeout": persistence = num(n.args[0]) ?? "360"; break;
        case "persistence_granularity": granularity = n.args[0]; break;
        case "persistence_engine": engine = n.args[0]; break;
        case "ops": case "omega": case "ha_suspend": f[n.keyword] = String(flagValue(n)); break;
        case "alpha": alpha = String(flagValue(n)); break;
        case "inhibit_on_failure": inhibit = String(flagValue(n)); break;
        case "quorum": case "hysteresis": f[n.keyword] = num(n.args[0]) ?? ""; break;
        case "quorum_up": case "quorum_down": f[n.keyword] = commandArgv(n).join(" "); break;
        case "virtualhost": virtualhost = n.args[0]; break;
        case "sorry_server": sorry = n; break;
        case "sorry_server_inhibit": f["sorry_server_inhibit"] = String(flagValue(n)); break;
        case "sorry_server_lvs_method": sorryMethod = methodText(n.args); break;
        case "delay_loop": case "connect_timeout": case "retry": case "nb_get_retry": case "delay_before_retry": case "warmup":
          timers[n.keyword === "nb_get_retry" ? "retry" : n.keyword] = num(n.args[0]) ?? "";
          break;
        default:
          if ((SCHEDULER_FLAGS as readonly string[]).includes(n.keyword)) flags.push(n.keyword);
          else this.unknown(n, `virtual_server ${id.key}`);
      }
    }
    const sched = f["lvs_sched"]!;
    f["flags"] = canonicalFlags(sched as SchedulerName, flags as SchedulerFlag[]).join(" ");
    if (persistence !== undefined) {
      f["persistence_timeout"] = persistence;
      const full = id.key.includes("[") || id.key.startsWith("fwmark/inet6") ? 128 : 32;
      let prefix = full;
      if (granularity !== undefined) prefix = granularity.includes(".") ? netmaskToPrefix(granularity) ?? full : Number(granularity);
      f["persistence_granularity"] = `/${prefix}`;
      if (engine !== undefined) f["persistence_engine"] = engine;
    }
    if (sorry) {
      const sorryFwd = sorryMethod ?? method;
      const port = id.fwmark ? (sorryFwd === "NAT" ? num(sorry.args[1]) ?? "0" : "0") : sorryFwd === "NAT" ? num(sorry.args[1]) ?? String(id.port) : String(id.port);
      f["sorry_server"] = `${canon(sorry.args[0] ?? "")}:${port} ${sorryFwd}`;
      f["sorry_server_inhibit"] ??= "false";
    }
    for (const k of Object.keys(f).sort()) this.set(key(k), f[k]);
    for (const rs of servers) this.realServer(id, key, rs, { method, timers, virtualhost, inhibit, alpha });
  }

  private realServer(
    id: { key: string; fwmark: boolean; port: number }, vsKey: (k: string) => string, block: ConfNode,
    vs: { method: string; timers: Record<string, string>; virtualhost: string | undefined; inhibit: string; alpha: string },
  ): void {
    const children = this.live(block.children);
    let method = vs.method;
    const f: Record<string, string> = { weight: "1", uthreshold: "0", lthreshold: "0", inhibit_on_failure: vs.inhibit, alpha: vs.alpha };
    const timers = { ...vs.timers };
    let virtualhost = vs.virtualhost;
    const checkers: ConfNode[] = [];
    for (const n of children) {
      switch (n.keyword) {
        case "weight": case "uthreshold": case "lthreshold": f[n.keyword] = num(n.args[0]) ?? ""; break;
        case "lvs_method": case "lb_kind": method = methodText(n.args); break;
        case "inhibit_on_failure": case "alpha": f[n.keyword] = String(flagValue(n)); break;
        case "notify_up": case "notify_down": f[n.keyword] = commandArgv(n).join(" "); break;
        case "virtualhost": virtualhost = n.args[0]; break;
        case "delay_loop": case "connect_timeout": case "retry": case "nb_get_retry": case "delay_before_retry": case "warmup":
          timers[n.keyword === "nb_get_retry" ? "retry" : n.keyword] = num(n.args[0]) ?? "";
          break;
        case "HTTP_GET": case "SSL_GET": case "TCP_CHECK": case "SMTP_CHECK": case "DNS_CHECK": case "UDP_CHECK":
        case "PING_CHECK": case "MISC_CHECK": case "FILE_CHECK":
          checkers.push(n);
          break;
        default: this.unknown(n, `real_server ${statementText(block)}`);
      }
    }
    const written = block.args[1] === undefined ? undefined : Number(block.args[1]);
    const nat = method === "NAT";
    const port = id.fwmark ? (nat ? written ?? 0 : 0) : nat ? written ?? id.port : id.port;
    const address = canon(block.args[0] ?? "");
    f["lvs_method"] = method;
    const checks = checkers.flatMap((c) => this.checker(c, address, port, timers, virtualhost));
    f["checkers"] = checks.sort().join(" ; ");
    const rsKey = (k: string) => vsKey(`real_server ${address.includes(":") ? `[${address}]` : address}:${port} > ${k}`);
    for (const k of Object.keys(f).sort()) this.set(rsKey(k), f[k]);
  }

  /** Canonical text of a checker (SMTP hosts: one each), with effective target and timers. */
  private checker(block: ConfNode, address: string, port: number, inherited: Record<string, string>, virtualhost: string | undefined): string[] {
    const where = `${block.keyword} of ${address}:${port}`;
    const children = this.live(block.children);
    const common: Record<string, string> = { connect_ip: address, connect_port: String(port), bindto: "-", connect_timeout: "-", retry: "-", delay_before_retry: "-", warmup: "-" };
    for (const [k, v] of Object.entries(inherited)) common[k] = v;
    const extra: string[] = [];
    const urls: string[] = [];
    const hosts: Array<Record<string, string>> = [];
    let checkerVhost = virtualhost;
    const urlNodes: ConfNode[] = [];
    const file: Record<string, string> = {};
    for (const n of children) {
      switch (n.keyword) {
        case "connect_ip": case "bindto": common[n.keyword] = canon(n.args[0] ?? ""); break;
        case "connect_port": case "connect_timeout": case "retry": case "nb_get_retry": case "delay_before_retry": case "warmup": case "delay_loop":
          common[n.keyword === "nb_get_retry" ? "retry" : n.keyword] = num(n.args[0]) ?? "";
          break;
        case "url": urlNodes.push(n); break;
        case "virtualhost": checkerVhost = n.args[0]; break;
        case "host": {
          const h: Record<string, string> = {};
          for (const k of this.live(n.children)) {
            if (["connect_ip", "bindto"].includes(k.keyword)) h[k.keyword] = canon(k.args[0] ?? "");
            else if (k.keyword === "connect_port") h[k.keyword] = num(k.args[0]) ?? "";
            else this.unknown(k, `${where} host`);
          }
          hosts.push(h);
          break;
        }
        case "misc_path": extra.push(`misc_path=${commandArgv(n).join(" ")}`); break;
        case "misc_dynamic": extra.push(`misc_dynamic=${String(flagValue(n))}`); break;
        case "enable_sni": extra.push(`enable_sni=${String(flagValue(n))}`); break;
        case "require_reply": extra.push(`require_reply=${n.args[0] ?? "any"}`); break;
        case "misc_timeout": case "min_reply_length": case "max_reply_length":
          extra.push(`${n.keyword}=${num(n.args[0]) ?? ""}`);
          break;
        case "http_protocol": case "helo_name": case "name": case "payload":
          extra.push(`${n.keyword}=${n.args[0] ?? ""}`);
          break;
        case "type": extra.push(`type=${(n.args[0] ?? "").toUpperCase()}`); break;
        case "track_file": {
          const tf = this.trackFiles.get(n.args[0] ?? "");
          for (const t of this.live(tf?.children)) {
            if (t.keyword === "file") file["file"] = t.args[0] ?? "";
            else if (t.keyword === "weight") file["weight"] ??= t.args.join(" ");
          }
          break;
        }
        case "weight": file["weight"] = n.args.join(" "); break;
        default: this.unknown(n, where);
      }
    }
    if (block.keyword === "FILE_CHECK") return [`FILE_CHECK file=${file["file"] ?? ""} weight=${file["weight"] ?? "1"}`];
    if (block.keyword === "DNS_CHECK" && !extra.some((e) => e.startsWith("type="))) extra.push("type=A");
    for (const u of urlNodes) {
      const uf: Record<string, string> = { virtualhost: checkerVhost ?? "-" };
      for (const k of this.live(u.children)) {
        if (k.keyword === "path") uf["path"] = k.args[0] ?? "";
        else if (k.keyword === "digest") uf["digest"] = (k.args[0] ?? "").toLowerCase();
        else if (k.keyword === "status_code") uf["status_code"] = k.args.map((c) => num(c) ?? c).sort().join(",");
        else if (k.keyword === "virtualhost") uf["virtualhost"] = k.args[0] ?? "";
        else this.unknown(k, `${where} url`);
      }
      urls.push(Object.keys(uf).sort().map((k) => `${k}=${uf[k]!}`).join("&"));
    }
    const misc = block.keyword === "MISC_CHECK";
    const text = (c: Record<string, string>) => {
      const keys = Object.keys(c).filter((k) => !misc || !["connect_ip", "connect_port", "bindto", "connect_timeout"].includes(k)).sort();
      const parts = [block.keyword, ...keys.map((k) => `${k}=${c[k]!}`), ...extra.sort()];
      if (urls.length > 0) parts.push(`urls=[${urls.sort().join(" | ")}]`);
      return parts.join(" ");
    };
    if (hosts.length === 0) return [text(common)];
    return hosts.map((h) => text({ ...common, ...h }));
  }
}

const NOTIFY = new Set(["notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"]);

function flagValue(n: ConfNode): boolean {
  const v = n.args[0];
  return v === undefined || ["on", "true", "yes"].includes(v);
}

/** `NAT`, `DR`, or `TUN type T [port P] [csum]` with TUN's defaults spelled out. */
function methodText(args: readonly string[]): string {
  const [m, ...rest] = args;
  if (m !== "TUN") return m ?? "";
  let type = "ipip";
  let port = "";
  let csum = "nocsum";
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "type") type = rest[++i] ?? "";
    else if (rest[i] === "port") port = ` port ${rest[++i] ?? ""}`;
    else csum = rest[i]!;
  }
  return `TUN type ${type}${port} ${csum}`;
}

/** The flat facts of a config, for comparison and for reading in test failures. */
export function describeKeepalivedConf(nodes: readonly ConfNode[], options: CompareOptions = {}): ConfFacts {
  return new Extractor(options).run(nodes);
}

/**
 * Differences between an original config and a rendered one, as readable lines
 * (`fact: original-value != rendered-value`); empty when they are structurally the same.
 * `options.ignore` applies to the original only.
 */
export function compareKeepalivedConfs(original: readonly ConfNode[], rendered: readonly ConfNode[], options: CompareOptions = {}): string[] {
  const a = describeKeepalivedConf(original, options);
  const b = describeKeepalivedConf(rendered);
  const out: string[] = [];
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const va = a.get(key);
    const vb = b.get(key);
    if (va === vb) continue;
    if (va === undefined && RENDERED_EXTRAS.has(key)) continue;
    out.push(`${key}: ${va ?? "(absent)"} != ${vb ?? "(absent)"}`);
  }
  return out;
}
