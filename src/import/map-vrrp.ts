/**
 * global_defs, vrrp_script, vrrp_instance and vrrp_sync_group -> the spec's director,
 * vrrp, syncDaemon, timeouts and keepalived sections.
 *
 * keepalived's implicit values are made explicit where the spec's defaults differ:
 * a vrrp_script's interval (keepalived 1 s, spec 2 s), an instance's priority (keepalived
 * 100, or 255 for `state MASTER` without a priority; spec 150) and its initial state
 * (keepalived BACKUP unless the priority is 255; the spec derives MASTER for the first
 * director), which becomes a per-director override when it differs from the derived one.
 */
import { parsePrefix } from "../model/addresses.js";
import {
  commandArgv, type DirectorInput, type ImportContext, type InstanceInput, type OverrideInput, type ScriptInput,
  type SyncDaemonInput, type SyncGroupInput,
} from "./import-context.js";
import { statementText, type ConfNode } from "./parse-keepalived-conf.js";

/** What the VRRP side of a keepalived.conf becomes. */
export interface VrrpParts {
  instances: InstanceInput[];
  scripts: ScriptInput[];
  syncGroup?: string;
  syncGroups?: SyncGroupInput[];
  syncDaemon?: SyncDaemonInput;
  timeouts?: { tcp?: number; tcpFin?: number; udp?: number };
  scriptUser?: string;
}

const SYNC_DAEMON_KEYS = new Set(["id", "maxlen", "port", "ttl", "group"]);

function mapSyncDaemon(ctx: ImportContext, node: ConfNode, parts: VrrpParts): void {
  if (ctx.rejectBlock(node)) return;
  const [iface, ...rest] = node.args;
  if (iface === undefined) {
    ctx.drop(node, `${node.keyword} needs an interface; not imported`);
    return;
  }
  const sd: SyncDaemonInput = { interface: iface };
  let i = 0;
  if (rest[0] !== undefined && !SYNC_DAEMON_KEYS.has(rest[0])) {
    sd.instance = rest[0];
    i = 1;
  }
  const fields: Record<string, "syncId" | "maxlen" | "port" | "ttl"> = { id: "syncId", maxlen: "maxlen", port: "port", ttl: "ttl" };
  for (; i < rest.length; i += 2) {
    const key = rest[i]!;
    const value = rest[i + 1];
    if (!SYNC_DAEMON_KEYS.has(key) || value === undefined) {
      ctx.drop(node, `${node.keyword}: '${key}' is not understood (expected id, maxlen, port, ttl or group with a value); not imported`);
      return;
    }
    if (key === "group") {
      sd.group = value;
      continue;
    }
    const n = ctx.parseNumber(node, value, { integer: true });
    if (n === undefined) return;
    sd[fields[key]!] = n;
  }
  if (parts.syncDaemon) {
    ctx.drop(node, `${node.keyword}: a second sync daemon definition; the first one is imported`);
    return;
  }
  parts.syncDaemon = ctx.prov.object(sd, node);
}

function mapTimeouts(ctx: ImportContext, node: ConfNode, parts: VrrpParts): void {
  if (ctx.rejectBlock(node)) return;
  const t: NonNullable<VrrpParts["timeouts"]> = {};
  const names: Record<string, "tcp" | "tcpFin" | "udp"> = { tcp: "tcp", tcpfin: "tcpFin", udp: "udp" };
  for (let i = 0; i < node.args.length; i += 2) {
    const key = names[node.args[i]!];
    const value = node.args[i + 1];
    if (key === undefined || value === undefined) {
      ctx.drop(node, `lvs_timeouts: '${node.args[i]!}' is not understood (expected tcp, tcpfin or udp with a value); not imported`);
      return;
    }
    const n = ctx.parseNumber(node, value, { integer: true, min: 0 });
    if (n === undefined) return;
    t[key] = n;
  }
  parts.timeouts = ctx.prov.object(t, node);
}

/** global_defs: router_id, the sync daemon, IPVS timeouts and the script user. */
export function mapGlobalDefs(ctx: ImportContext, block: ConfNode, director: DirectorInput, parts: VrrpParts): void {
  for (const node of block.children ?? []) {
    switch (node.keyword) {
      case "router_id":
      case "lvs_id": {
        const v = ctx.value(node, "a name");
        if (v === undefined) break;
        director.routerId = v;
        ctx.prov.field(director, "routerId", node);
        break;
      }
      case "lvs_sync_daemon":
        mapSyncDaemon(ctx, node, parts);
        break;
      case "lvs_timeouts":
        mapTimeouts(ctx, node, parts);
        break;
      case "script_user": {
        if (ctx.rejectBlock(node)) break;
        const user = node.args[0];
        if (user === undefined) {
          ctx.drop(node, "script_user needs a user; not imported");
          break;
        }
        if (node.args.length > 1) {
          ctx.note(node, `script_user: the group ${node.args.slice(1).join(" ")} is not modelled; scripts run with the user's primary group`);
        }
        parts.scriptUser = user;
        break;
      }
      case "enable_script_security":
        // always on in rendered configs: nothing to carry over
        ctx.rejectBlock(node);
        break;
      case "reload_check_config":
        if (!ctx.rejectBlock(node) && node.args.length > 0) {
          ctx.note(node, "reload_check_config: the log file is not modelled; rendered configs check without one");
        }
        break;
      default:
        ctx.dropUnknown(node, "global_defs");
    }
  }
}

/** vrrp_script NAME { script; interval; timeout; weight; rise; fall }. */
export function mapVrrpScript(ctx: ImportContext, block: ConfNode, parts: VrrpParts): void {
  const name = block.args[0];
  if (name === undefined || !block.children) {
    ctx.drop(block, "vrrp_script needs a name and a '{ }' block; not imported");
    return;
  }
  // keepalived's interval default is 1 s, the spec's 2 s: always explicit
  const script: ScriptInput = { name, command: [], interval: 1 };
  let hasScript = false;
  let invalid = false;
  for (const node of block.children) {
    switch (node.keyword) {
      case "script":
        if (ctx.rejectBlock(node)) break;
        script.command = commandArgv(node);
        hasScript = script.command.length > 0;
        break;
      case "interval": {
        const n = ctx.number(node, { min: 0 });
        if (n === undefined) invalid = true;
        else script.interval = n;
        break;
      }
      case "timeout":
      case "rise":
      case "fall": {
        const n = ctx.number(node, { integer: node.keyword !== "timeout" });
        if (n === undefined) break;
        script[node.keyword] = n;
        ctx.prov.field(script, node.keyword, node);
        break;
      }
      case "weight": {
        if (ctx.rejectBlock(node)) break;
        if (node.args[1] === "reverse") {
          invalid = true;
          ctx.drop(node, "weight ... reverse is not modelled (the spec has no reversed script weights)");
          break;
        }
        const n = ctx.parseNumber(node, node.args[0] ?? "", { integer: true });
        if (n === undefined) break;
        script.weight = n;
        ctx.prov.field(script, "weight", node);
        break;
      }
      default:
        ctx.dropUnknown(node, `vrrp_script ${name}`);
    }
  }
  if (!hasScript) {
    ctx.drop(block, `vrrp_script ${name} has no script (keepalived removes it too); not imported`);
    return;
  }
  if (invalid) {
    ctx.drop(block, `vrrp_script ${name} not imported: one of its settings cannot be expressed (see the findings in its block)`);
    return;
  }
  parts.scripts.push(ctx.prov.object(script, block));
}

interface InstanceBuild {
  instance: InstanceInput;
  override: OverrideInput;
  node: ConfNode;
}

function vipKey(text: string): string {
  try {
    const p = parsePrefix(text);
    return `${p.address}/${p.length}`;
  } catch {
    return text;
  }
}

/** The lines of a `virtual_ipaddress` block, each `ADDR[/LEN] [dev IF] [attributes]`. */
function mapVips(ctx: ImportContext, block: ConfNode, instanceIf: string | undefined, list: string[], seen: Map<string, ConfNode>): void {
  if (!block.children) {
    ctx.drop(block, `${block.keyword} needs a '{ }' block; not imported`);
    return;
  }
  for (const line of block.children) {
    if (ctx.rejectBlock(line)) continue;
    const vip = line.keyword;
    let dev: string | undefined;
    const extra: string[] = [];
    for (let i = 0; i < line.args.length; i++) {
      if (line.args[i] === "dev" && line.args[i + 1] !== undefined) {
        dev = line.args[++i];
        continue;
      }
      extra.push(line.args[i]!);
    }
    if (dev !== undefined && instanceIf !== undefined && dev !== instanceIf) {
      ctx.drop(line, `virtual address ${vip} on dev ${dev}: the spec puts every address of an instance on the instance's interface (${instanceIf}); not imported`, "move it to an instance on that interface");
      continue;
    }
    const key = vipKey(vip);
    const first = seen.get(key);
    if (first) {
      ctx.drop(line, `virtual address ${vip} repeats line ${first.location.line}; not imported twice`);
      continue;
    }
    seen.set(key, line);
    if (extra.length > 0) {
      ctx.note(line, `virtual address ${vip}: '${extra.join(" ")}' is not modelled; the address is imported without it`);
    }
    list.push(vip);
    ctx.prov.element(list, vip, line);
  }
}

function mapAuthentication(ctx: ImportContext, block: ConfNode, instance: InstanceInput): void {
  if (!block.children) {
    ctx.drop(block, "authentication needs a '{ }' block; not imported");
    return;
  }
  for (const node of block.children) {
    if (node.keyword === "auth_type") {
      const v = ctx.value(node, "PASS or AH");
      if (v === "PASS" || v === "AH") {
        instance.authType = v;
        ctx.prov.field(instance, "authType", node);
      } else if (v !== undefined) {
        ctx.drop(node, `auth_type ${v} is not PASS or AH; not imported`);
      }
    } else if (node.keyword === "auth_pass") {
      let v = ctx.value(node, "a password");
      if (v === undefined) continue;
      if (v.length > 8) {
        // keepalived sends only the first 8 characters: that is the password in effect
        ctx.note(node, "auth_pass is longer than 8 characters: keepalived uses only the first 8, so the spec gets those (value not shown)");
        v = v.slice(0, 8);
      }
      instance.authPassword = v;
      ctx.prov.field(instance, "authPassword", node);
    } else {
      ctx.dropUnknown(node, "authentication");
    }
  }
}

function mapTrackList(
  ctx: ImportContext, block: ConfNode, list: Array<{ name: string; weight?: number }>,
): void {
  if (!block.children) {
    ctx.drop(block, `${block.keyword} needs a '{ }' block; not imported`);
    return;
  }
  for (const line of block.children) {
    if (ctx.rejectBlock(line)) continue;
    const entry: { name: string; weight?: number } = { name: line.keyword };
    const [k, v, ...rest] = line.args;
    if (k !== undefined) {
      if (k !== "weight" || v === undefined || rest.length > 0) {
        ctx.drop(line, `${block.keyword} entry '${statementText(line)}': only 'NAME [weight W]' is modelled; not imported`);
        continue;
      }
      const w = ctx.parseNumber(line, v, { integer: true });
      if (w === undefined) continue;
      entry.weight = w;
    }
    list.push(ctx.prov.object(entry, line));
  }
}

/** One vrrp_instance; undefined when it cannot be imported (reported). */
export function mapVrrpInstance(ctx: ImportContext, block: ConfNode, parts: VrrpParts): InstanceBuild | undefined {
  const name = block.args[0];
  if (name === undefined || !block.children) {
    ctx.drop(block, "vrrp_instance needs a name and a '{ }' block; not imported");
    return undefined;
  }
  const ifaceNode = block.children.find((n) => n.keyword === "interface");
  const iface = ifaceNode?.args[0];
  const instance: InstanceInput = { name, interface: iface ?? "", virtualRouterId: 0, vips: [] };
  const override: OverrideInput = {};
  const seenVips = new Map<string, ConfNode>();
  let state: "MASTER" | "BACKUP" | undefined;
  let stateNode: ConfNode | undefined;
  let priority: number | undefined;
  let nopreemptNode: ConfNode | undefined;
  let vridSeen = false;
  let srcIpNode: ConfNode | undefined;

  for (const node of block.children) {
    switch (node.keyword) {
      case "interface":
        ctx.value(node, "an interface");
        break;
      case "state": {
        const v = ctx.value(node, "MASTER or BACKUP");
        if (v === "MASTER" || v === "BACKUP") {
          state = v;
          stateNode = node;
        } else if (v !== undefined) {
          ctx.drop(node, `state ${v} is not MASTER or BACKUP; not imported`);
        }
        break;
      }
      case "virtual_router_id": {
        const n = ctx.number(node, { integer: true });
        if (n !== undefined) {
          instance.virtualRouterId = n;
          vridSeen = true;
        }
        break;
      }
      case "priority": {
        const n = ctx.number(node, { integer: true, min: 1, max: 255 });
        if (n !== undefined) priority = n;
        break;
      }
      case "advert_int": {
        const n = ctx.number(node, { min: 0 });
        if (n === undefined) break;
        instance.advertInterval = n;
        ctx.prov.field(instance, "advertInterval", node);
        break;
      }
      case "version": {
        const n = ctx.number(node, { integer: true });
        if (n === 2 || n === 3) {
          instance.version = n;
          ctx.prov.field(instance, "version", node);
        } else if (n !== undefined) {
          ctx.drop(node, `version ${n} is not 2 or 3; not imported`);
        }
        break;
      }
      case "authentication":
        mapAuthentication(ctx, node, instance);
        break;
      case "virtual_ipaddress":
        mapVips(ctx, node, iface, instance.vips, seenVips);
        break;
      case "virtual_ipaddress_excluded": {
        const list: string[] = instance.excludedVips ?? [];
        instance.excludedVips = list;
        mapVips(ctx, node, iface, list, seenVips);
        break;
      }
      case "unicast_peer": {
        if (!node.children) {
          ctx.drop(node, "unicast_peer needs a '{ }' block; not imported");
          break;
        }
        const peers: string[] = instance.unicastPeers ?? [];
        instance.unicastPeers = peers;
        instance.unicast = true;
        for (const line of node.children) {
          if (ctx.rejectBlock(line)) continue;
          if (line.args.length > 0) ctx.note(line, `unicast peer ${line.keyword}: '${line.args.join(" ")}' is not modelled; the peer is imported without it`);
          peers.push(line.keyword);
          ctx.prov.element(peers, line.keyword, line);
        }
        break;
      }
      case "unicast_src_ip": {
        const v = ctx.value(node, "an address");
        if (v === undefined) break;
        srcIpNode = node;
        override.unicastSrcIp = v;
        ctx.prov.field(override, "unicastSrcIp", node);
        break;
      }
      case "nopreempt":
        if (ctx.flag(node) === true) {
          instance.nopreempt = true;
          nopreemptNode = node;
          ctx.prov.field(instance, "nopreempt", node);
        }
        break;
      case "preempt_delay": {
        const n = ctx.number(node, { min: 0 });
        if (n === undefined) break;
        instance.preemptDelay = n;
        ctx.prov.field(instance, "preemptDelay", node);
        break;
      }
      case "garp_master_delay": {
        const n = ctx.number(node, { integer: true, min: 0 });
        if (n === undefined) break;
        instance.garpMasterDelay = n;
        ctx.prov.field(instance, "garpMasterDelay", node);
        break;
      }
      case "track_interface": {
        const list = instance.trackInterfaces ?? [];
        instance.trackInterfaces = list;
        mapTrackList(ctx, node, list);
        break;
      }
      case "track_script": {
        const list = instance.trackScripts ?? [];
        instance.trackScripts = list;
        mapTrackList(ctx, node, list);
        break;
      }
      case "lvs_sync_daemon_interface": {
        // deprecated per-instance form of global_defs' lvs_sync_daemon IF INSTANCE
        const v = ctx.value(node, "an interface");
        if (v === undefined) break;
        if (parts.syncDaemon) {
          ctx.drop(node, "lvs_sync_daemon_interface: a sync daemon is already defined; not imported");
          break;
        }
        parts.syncDaemon = ctx.prov.object({ interface: v, instance: name }, node);
        break;
      }
      default:
        if (!mapNotify(ctx, node, instance)) ctx.dropUnknown(node, `vrrp_instance ${name}`);
    }
  }

  if (iface === undefined) {
    ctx.drop(block, `vrrp_instance ${name} has no interface; not imported`);
    return undefined;
  }
  if (!vridSeen) {
    ctx.drop(block, `vrrp_instance ${name} has no virtual_router_id; not imported`);
    return undefined;
  }
  if (instance.vips.length === 0) {
    ctx.drop(block, `vrrp_instance ${name} has no virtual address the spec can carry (it needs at least one); not imported`);
    return undefined;
  }
  if (srcIpNode && !instance.unicast) {
    delete override.unicastSrcIp;
    ctx.drop(srcIpNode, "unicast_src_ip without unicast_peer is not modelled (the spec uses it only for unicast VRRP); not imported");
  }

  // keepalived's own defaults (vrrp.c): no priority -> 255 when MASTER, else 100; no state -> MASTER only at 255
  const base = priority ?? (state === "MASTER" ? 255 : 100);
  let effective: "MASTER" | "BACKUP" = state ?? (base === 255 ? "MASTER" : "BACKUP");
  if (instance.authType === "AH" && effective === "MASTER") {
    ctx.note(stateNode ?? block, `vrrp_instance ${name}: keepalived does not start an AH-authenticated instance as MASTER (it clears the state), so it is imported as BACKUP`);
    effective = "BACKUP";
  }
  if (nopreemptNode && (effective === "MASTER" || base === 255)) {
    delete instance.nopreempt;
    ctx.drop(
      nopreemptNode,
      effective === "MASTER"
        ? `nopreempt of vrrp_instance ${name}: keepalived clears it because the state is MASTER; not imported`
        : `nopreempt of vrrp_instance ${name}: a priority-255 router always preempts; not imported`,
    );
  }
  instance.priority = base;
  // the spec derives MASTER for the first director unless nopreempt: override when keepalived differs
  const derived = instance.nopreempt === true ? "BACKUP" : "MASTER";
  if (effective !== derived) override.state = effective;
  return { instance: ctx.prov.object(instance, block), override, node: block };
}

const NOTIFY_KEYS = {
  notify_master: "notifyMaster", notify_backup: "notifyBackup", notify_fault: "notifyFault", notify_stop: "notifyStop", notify: "notify",
} as const;

/** notify_master/backup/fault/stop and notify of an instance or a sync group: argv on `target`. */
export function mapNotify(ctx: ImportContext, node: ConfNode, target: Partial<Record<(typeof NOTIFY_KEYS)[keyof typeof NOTIFY_KEYS], string[]>>): boolean {
  const key = (NOTIFY_KEYS as Record<string, (typeof NOTIFY_KEYS)[keyof typeof NOTIFY_KEYS]>)[node.keyword];
  if (key === undefined) return false;
  if (ctx.rejectBlock(node)) return true;
  const argv = commandArgv(node);
  if (argv.length === 0) {
    ctx.drop(node, `${node.keyword} needs a command; not imported`);
    return true;
  }
  target[key] = argv;
  ctx.prov.field(target, key, node);
  return true;
}

/**
 * vrrp_sync_group blocks -> the spec's sync groups, exactly: one group of every instance
 * (without notify scripts) becomes `syncGroup: NAME`; anything else becomes `syncGroups`
 * (`[]` when two or more instances are in no group: each fails over on its own).
 */
export function mapSyncGroups(ctx: ImportContext, blocks: readonly ConfNode[], built: readonly InstanceBuild[], parts: VrrpParts): void {
  const names = new Set(built.map((b) => b.instance.name));
  const groups: SyncGroupInput[] = [];
  const groupOf = new Map<string, string>();
  for (const block of blocks) {
    const name = block.args[0];
    if (name === undefined || !block.children) {
      ctx.drop(block, "vrrp_sync_group needs a name and a '{ }' block; not imported");
      continue;
    }
    const group: SyncGroupInput = { name, instances: [] };
    for (const node of block.children) {
      if (mapNotify(ctx, node, group)) continue;
      if (node.keyword !== "group") {
        if (names.has(node.keyword)) {
          ctx.drop(node, `${node.keyword} directly inside vrrp_sync_group ${name}: keepalived 2 no longer reads this old syntax ("Unknown keyword"); members go in a 'group { }' block; not imported`);
        } else {
          ctx.dropUnknown(node, `vrrp_sync_group ${name}`);
        }
        continue;
      }
      if (!node.children) {
        ctx.drop(node, "group needs a '{ }' block listing instances; not imported");
        continue;
      }
      for (const m of node.children) {
        if (ctx.rejectBlock(m)) continue;
        // keepalived reads every word of a line in `group { }` as a member
        const listed = [m.keyword, ...m.args];
        const unknown = listed.filter((x) => !names.has(x));
        if (unknown.length > 0) {
          ctx.drop(m, `sync group member${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} ${unknown.length > 1 ? "are not imported vrrp_instances" : "is not an imported vrrp_instance"}; the line is not imported`);
          continue;
        }
        const taken = listed.filter((x) => groupOf.has(x));
        if (taken.length > 0) {
          ctx.drop(m, `sync group member ${taken.join(", ")} is already in sync group ${groupOf.get(taken[0]!)!}: keepalived ignores it here too; the line is not imported`);
          continue;
        }
        for (const x of listed) {
          groupOf.set(x, name);
          group.instances.push(x);
          ctx.prov.element(group.instances, x, m);
        }
      }
    }
    if (group.instances.length === 0) {
      ctx.drop(block, `vrrp_sync_group ${name} has no member instance (keepalived removes it too); not imported`);
      continue;
    }
    groups.push(ctx.prov.object(group, block));
  }
  const hasNotify = (g: SyncGroupInput) => Object.keys(g).some((k) => k !== "name" && k !== "instances");
  const only = groups.length === 1 ? groups[0]! : undefined;
  if (only && built.length > 1 && !hasNotify(only) && built.every((b) => only.instances.includes(b.instance.name))) {
    parts.syncGroup = only.name;
    return;
  }
  if (groups.length > 0 || built.length > 1) parts.syncGroups = groups;
}
