/**
 * virtual_server (IP PORT | fwmark N | group NAME) with its real_server blocks -> spec
 * services. Read once into a template, then made into a service: a `virtual_server group`
 * becomes one service whose `group.members` are the virtual_server_group's entries (ranges
 * kept), see mapGroupVirtualServer.
 *
 * Made explicit where keepalived is implicit: the scheduler (wlc), the forwarding method
 * (NAT), the protocol (keepalived falls back to UDP with an error), weights (1), the family
 * of fwmark services. Real-server ports follow
 * keepalived: DR/TUN servers take the service port, fwmark DR/TUN servers none.
 *
 * The spec's pools share one list of health checks; keepalived attaches checkers to each
 * real server. Checkers that name the server's own address/port are made generic first;
 * if the servers still disagree, the most common list is kept and the others are reported.
 */
import {
  SCHEDULERS, SCHEDULER_FLAGS, TUNNEL_CHECKSUMS, TUNNEL_TYPES, type Family, type Protocol, type SchedulerFlag,
  type SchedulerName,
} from "../schema/spec-schema.js";
import {
  commandArgv, type ForwardingInput, type HealthCheckInput, type ImportContext, type PoolInput, type RealServerInput,
  type ServiceInput,
} from "./import-context.js";
import {
  CHECKER_KEYWORDS, TIMER_KEYS, mapChecker, normalizeCheckTarget, type TrackFile,
} from "./map-health-checks.js";
import { statementText, type ConfNode } from "./parse-keepalived-conf.js";
import { stableJson } from "../model/stable-json.js";

/** Shared by every virtual_server of one import. */
export interface VirtualServerEnv {
  groups: ReadonlyMap<string, ConfNode>;
  usedGroups: Set<string>;
  trackFiles: ReadonlyMap<string, TrackFile>;
  /** service names given so far (they must be unique) */
  names: Set<string>;
  /** set when a scheduler needs a newer kernel than the spec's default */
  targetKernel?: string;
}

type Timer = (typeof TIMER_KEYS)[string];
interface Valued<T> {
  value: T;
  node: ConfNode;
}

interface RealServerTemplate {
  node: ConfNode;
  address: string;
  port?: number;
  weight?: Valued<number>;
  method?: Valued<ForwardingInput>;
  upper?: Valued<number>;
  lower?: Valued<number>;
  inhibit?: Valued<boolean>;
  alpha?: Valued<boolean>;
  notifyUp?: Valued<string[]>;
  notifyDown?: Valued<string[]>;
  timers: Partial<Record<Timer, Valued<number>>>;
  virtualhost?: Valued<string>;
  checkers: Array<{ node: ConfNode; checks: HealthCheckInput[] }>;
}

interface VirtualServerTemplate {
  node: ConfNode;
  scheduler?: Valued<SchedulerName>;
  flags: Array<Valued<SchedulerFlag>>;
  method?: Valued<ForwardingInput>;
  protocol?: Valued<Protocol>;
  family?: Valued<Family>;
  persistence?: Valued<number>;
  granularity?: Valued<string>;
  engine?: Valued<"sip">;
  ops?: Valued<boolean>;
  virtualhost?: Valued<string>;
  quorum?: Valued<number>;
  hysteresis?: Valued<number>;
  quorumUp?: Valued<string[]>;
  quorumDown?: Valued<string[]>;
  alpha?: Valued<boolean>;
  omega?: Valued<boolean>;
  haSuspend?: Valued<boolean>;
  inhibit?: Valued<boolean>;
  sorry?: { address: string; port?: number; node: ConfNode };
  sorryInhibit?: Valued<boolean>;
  sorryMethod?: Valued<"nat" | "dr" | "tunnel">;
  timers: Partial<Record<Timer, Valued<number>>>;
  servers: RealServerTemplate[];
}

type Identity =
  | { kind: "addr"; address: string; port: number; node: ConfNode }
  | { kind: "fwmark"; fwmark: number; family?: Family; node: ConfNode };

const METHODS: Record<string, "nat" | "dr" | "tunnel"> = { NAT: "nat", DR: "dr", TUN: "tunnel" };
const PROTOCOLS: Record<string, Protocol> = { TCP: "tcp", UDP: "udp", SCTP: "sctp" };

/** `NAT | DR | TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]` */
function parseMethod(ctx: ImportContext, node: ConfNode): ForwardingInput | undefined {
  if (ctx.rejectBlock(node)) return undefined;
  const [m, ...rest] = node.args;
  const method = m === undefined ? undefined : METHODS[m];
  if (method === undefined) {
    ctx.drop(node, `${node.keyword} ${m ?? ""}: not NAT, DR or TUN; not imported`);
    return undefined;
  }
  const fwd: ForwardingInput = { method };
  for (let i = 0; i < rest.length; i++) {
    const t = rest[i]!;
    if (method === "tunnel" && t === "type" && (TUNNEL_TYPES as readonly string[]).includes(rest[i + 1] ?? "")) {
      fwd.tunnelType = rest[++i] as ForwardingInput["tunnelType"];
    } else if (method === "tunnel" && t === "port" && rest[i + 1] !== undefined) {
      const n = ctx.parseNumber(node, rest[++i]!, { integer: true });
      if (n === undefined) return undefined;
      fwd.tunnelPort = n;
    } else if (method === "tunnel" && (TUNNEL_CHECKSUMS as readonly string[]).includes(t)) {
      fwd.tunnelChecksum = t as ForwardingInput["tunnelChecksum"];
    } else {
      ctx.drop(node, `${statementText(node)}: '${t}' is not understood; not imported`);
      return undefined;
    }
  }
  return fwd;
}

function readTimer(ctx: ImportContext, node: ConfNode, timers: Partial<Record<Timer, Valued<number>>>): boolean {
  const key = TIMER_KEYS[node.keyword];
  if (key === undefined) return false;
  const n = ctx.number(node, { integer: key === "retry", min: 0 });
  if (n !== undefined) timers[key] = { value: n, node };
  return true;
}

function readFlag(ctx: ImportContext, node: ConfNode): Valued<boolean> | undefined {
  const v = ctx.flag(node);
  return v === undefined ? undefined : { value: v, node };
}

function readRealServer(ctx: ImportContext, node: ConfNode, trackFiles: ReadonlyMap<string, TrackFile>): RealServerTemplate | undefined {
  const [address, portText] = node.args;
  if (address === undefined || !node.children) {
    ctx.drop(node, "real_server needs an address and a '{ }' block; not imported");
    return undefined;
  }
  const rs: RealServerTemplate = { node, address, timers: {}, checkers: [] };
  if (portText !== undefined) {
    const port = ctx.parseNumber(node, portText, { integer: true, min: 0, max: 65535 });
    if (port === undefined) return undefined;
    rs.port = port;
  }
  for (const child of node.children) {
    if (readTimer(ctx, child, rs.timers)) continue;
    if (CHECKER_KEYWORDS.has(child.keyword)) {
      const checks = mapChecker(ctx, child, trackFiles);
      for (const c of checks) if (!ctx.prov.nodesOf(c)) ctx.prov.object(c, child);
      if (checks.length > 0) rs.checkers.push({ node: child, checks });
      continue;
    }
    switch (child.keyword) {
      case "weight": {
        const n = ctx.number(child, { integer: true });
        if (n !== undefined) rs.weight = { value: n, node: child };
        break;
      }
      case "lvs_method":
      case "lb_kind": {
        const fwd = parseMethod(ctx, child);
        if (fwd) rs.method = { value: fwd, node: child };
        break;
      }
      case "uthreshold":
      case "lthreshold": {
        const n = ctx.number(child, { integer: true, min: 0 });
        if (n === undefined) break;
        rs[child.keyword === "uthreshold" ? "upper" : "lower"] = { value: n, node: child };
        break;
      }
      case "inhibit_on_failure":
      case "alpha": {
        const f = readFlag(ctx, child);
        if (f) rs[child.keyword === "alpha" ? "alpha" : "inhibit"] = f;
        break;
      }
      case "virtualhost": {
        const v = ctx.value(child, "a host name");
        if (v !== undefined) rs.virtualhost = { value: v, node: child };
        break;
      }
      case "notify_up":
      case "notify_down": {
        if (ctx.rejectBlock(child)) break;
        const argv = commandArgv(child);
        if (argv.length === 0) {
          ctx.drop(child, `${child.keyword} needs a command; not imported`);
          break;
        }
        rs[child.keyword === "notify_up" ? "notifyUp" : "notifyDown"] = { value: argv, node: child };
        break;
      }
      default:
        ctx.dropUnknown(child, `real_server ${address}`);
    }
  }
  return rs;
}

const FLAG_SET = new Set<string>(SCHEDULER_FLAGS);

function readTemplate(ctx: ImportContext, block: ConfNode, env: VirtualServerEnv): VirtualServerTemplate | undefined {
  const t: VirtualServerTemplate = { node: block, flags: [], timers: {}, servers: [] };
  let fatal = false;
  for (const node of block.children ?? []) {
    if (readTimer(ctx, node, t.timers)) continue;
    if (FLAG_SET.has(node.keyword)) {
      if (ctx.rejectBlock(node)) continue;
      if (!t.scheduler) {
        // keepalived rejects a scheduler flag before lvs_sched
        ctx.drop(node, `${node.keyword} before lvs_sched/lb_algo: keepalived rejects it; not imported`);
        continue;
      }
      if (!t.flags.some((f) => f.value === node.keyword)) t.flags.push({ value: node.keyword as SchedulerFlag, node });
      continue;
    }
    switch (node.keyword) {
      case "lvs_sched":
      case "lb_algo": {
        const v = ctx.value(node, "a scheduler");
        if (v === undefined) break;
        if (!(SCHEDULERS as readonly string[]).includes(v)) {
          ctx.drop(node, `scheduler ${v} is not one the spec knows (${SCHEDULERS.join(", ")})`);
          fatal = true;
          break;
        }
        t.scheduler = { value: v as SchedulerName, node };
        if (v === "twos") env.targetKernel = "6.2";
        break;
      }
      case "lvs_method":
      case "lb_kind": {
        const fwd = parseMethod(ctx, node);
        if (fwd) t.method = { value: fwd, node };
        else fatal = true;
        break;
      }
      case "protocol": {
        const v = ctx.value(node, "TCP, UDP or SCTP");
        if (v === undefined) break;
        const p = PROTOCOLS[v.toUpperCase()];
        if (p === undefined) {
          ctx.drop(node, `protocol ${v} is not TCP, UDP or SCTP`);
          fatal = true;
        } else {
          t.protocol = { value: p, node };
        }
        break;
      }
      case "ip_family": {
        const v = ctx.value(node, "inet or inet6");
        if (v === "inet" || v === "inet6") t.family = { value: v, node };
        else if (v !== undefined) ctx.drop(node, `ip_family ${v} is not inet or inet6; not imported`);
        break;
      }
      case "persistence_timeout": {
        if (ctx.rejectBlock(node)) break;
        const text = node.args[0];
        // a bare persistence_timeout means keepalived's default, 360 s
        const n = text === undefined ? 360 : ctx.parseNumber(node, text, { integer: true });
        if (n !== undefined) t.persistence = { value: n, node };
        break;
      }
      case "persistence_granularity": {
        const v = ctx.value(node, "a netmask or prefix length");
        if (v !== undefined) t.granularity = { value: v, node };
        break;
      }
      case "persistence_engine": {
        const v = ctx.value(node, "sip");
        if (v === "sip") t.engine = { value: v, node };
        else if (v !== undefined) ctx.drop(node, `persistence_engine ${v}: only sip exists; not imported`);
        break;
      }
      case "ops":
      case "alpha":
      case "omega":
      case "ha_suspend":
      case "inhibit_on_failure":
      case "sorry_server_inhibit": {
        const f = readFlag(ctx, node);
        if (!f) break;
        const key = ({ ops: "ops", alpha: "alpha", omega: "omega", ha_suspend: "haSuspend", inhibit_on_failure: "inhibit", sorry_server_inhibit: "sorryInhibit" } as const)[node.keyword];
        t[key] = f;
        break;
      }
      case "quorum":
      case "hysteresis": {
        const n = ctx.number(node, { integer: true, min: 0 });
        if (n !== undefined) t[node.keyword] = { value: n, node };
        break;
      }
      case "quorum_up":
      case "quorum_down": {
        if (ctx.rejectBlock(node)) break;
        const argv = commandArgv(node);
        if (argv.length === 0) {
          ctx.drop(node, `${node.keyword} needs a command; not imported`);
          break;
        }
        t[node.keyword === "quorum_up" ? "quorumUp" : "quorumDown"] = { value: argv, node };
        break;
      }
      case "virtualhost": {
        const v = ctx.value(node, "a host name");
        if (v !== undefined) t.virtualhost = { value: v, node };
        break;
      }
      case "sorry_server": {
        if (ctx.rejectBlock(node)) break;
        const [address, portText] = node.args;
        if (address === undefined) {
          ctx.drop(node, "sorry_server needs an address; not imported");
          break;
        }
        const sorry: NonNullable<VirtualServerTemplate["sorry"]> = { address, node };
        if (portText !== undefined) {
          const port = ctx.parseNumber(node, portText, { integer: true, min: 0, max: 65535 });
          if (port === undefined) break;
          sorry.port = port;
        }
        t.sorry = sorry;
        break;
      }
      case "sorry_server_lvs_method": {
        const fwd = parseMethod(ctx, node);
        if (!fwd) break;
        if (fwd.tunnelType !== undefined || fwd.tunnelPort !== undefined || fwd.tunnelChecksum !== undefined) {
          ctx.note(node, "sorry_server_lvs_method: tunnel options are not modelled for the sorry server; imported as plain TUN");
        }
        t.sorryMethod = { value: fwd.method, node };
        break;
      }
      case "real_server": {
        const rs = readRealServer(ctx, node, env.trackFiles);
        if (rs) t.servers.push(rs);
        break;
      }
      default:
        ctx.dropUnknown(node, "virtual_server");
    }
  }
  if (fatal) {
    ctx.drop(block, `virtual_server ${block.args.join(" ")} not imported: its scheduler, forwarding method or protocol cannot be expressed (see the finding in its block)`);
    return undefined;
  }
  if (t.servers.length === 0) {
    ctx.drop(block, `virtual_server ${block.args.join(" ")} has no real server the importer could read (keepalived drops a virtual server without real servers); not imported`);
    return undefined;
  }
  return t;
}

/** The identities a virtual_server header stands for. */
function identitiesOf(ctx: ImportContext, block: ConfNode, env: VirtualServerEnv): Identity[] | undefined {
  const [a, b] = block.args;
  if (a === "fwmark") {
    const n = b === undefined ? undefined : ctx.parseNumber(block, b, { integer: true, min: 1 });
    if (n === undefined) {
      ctx.drop(block, "virtual_server fwmark needs a mark; not imported");
      return undefined;
    }
    return [{ kind: "fwmark", fwmark: n, node: block }];
  }
  if (a === "group") {
    const group = b === undefined ? undefined : env.groups.get(b);
    if (b === undefined || !group) {
      ctx.drop(block, `virtual_server group ${b ?? ""}: no virtual_server_group of that name; not imported`);
      return undefined;
    }
    env.usedGroups.add(b);
    return groupIdentities(ctx, group);
  }
  if (a === undefined) {
    ctx.drop(block, "virtual_server needs an address and port, fwmark N or group NAME; not imported");
    return undefined;
  }
  const port = b === undefined ? 0 : ctx.parseNumber(block, b, { integer: true, min: 0, max: 65535 });
  if (port === undefined) return undefined;
  return [{ kind: "addr", address: a, port, node: block }];
}

const V4_RANGE = /^\d+\.\d+\.\d+\.\d+-\d+$/;

function groupIdentities(ctx: ImportContext, group: ConfNode): Identity[] {
  const out: Identity[] = [];
  for (const line of group.children ?? []) {
    if (ctx.rejectBlock(line)) continue;
    if (line.keyword === "fwmark") {
      const n = line.args[0] === undefined ? undefined : ctx.parseNumber(line, line.args[0], { integer: true, min: 1 });
      if (n === undefined) continue;
      const fam = line.args[1];
      const id: Identity = { kind: "fwmark", fwmark: n, node: line };
      if (fam === "inet" || fam === "inet6") id.family = fam;
      out.push(id);
      continue;
    }
    if (V4_RANGE.test(line.keyword) || (line.keyword.includes(":") && line.keyword.includes("-"))) {
      ctx.drop(line, `address range ${line.keyword} in virtual_server_group ${group.args[0] ?? ""}: the spec has no ranges; list the addresses you need as services; not imported`);
      continue;
    }
    const port = line.args[0] === undefined ? 0 : ctx.parseNumber(line, line.args[0], { integer: true, min: 0, max: 65535 });
    if (port === undefined) continue;
    out.push({ kind: "addr", address: line.keyword, port, node: line });
  }
  return out;
}

function serviceName(env: VirtualServerEnv, id: Identity, protocol: Protocol | undefined): string {
  const base = id.kind === "fwmark"
    ? `fwmark-${id.fwmark}${id.family === "inet6" ? "-inet6" : ""}`
    : `${protocol ?? "tcp"}-${id.address.replace(/:/g, "_")}-${id.port}`;
  let name = base.slice(0, 60);
  for (let i = 2; env.names.has(name); i++) name = `${base.slice(0, 56)}-${i}`;
  env.names.add(name);
  return name;
}

function sameForwarding(a: ForwardingInput, b: ForwardingInput): boolean {
  return stableJson(a) === stableJson(b);
}

/** The checks one real server gets in service `id`, made generic where they name the server itself. */
function checksOf(ctx: ImportContext, rs: RealServerTemplate, checkPort: number | undefined): HealthCheckInput[] {
  const out: HealthCheckInput[] = [];
  for (const checker of rs.checkers) {
    for (const original of checker.checks) {
      const check = ctx.prov.clone(original);
      if (check.type !== "file") {
        for (const [key, v] of Object.entries(rs.timers) as Array<[Timer, Valued<number>]>) {
          if (check.type === "command" && key === "connectTimeout") continue;
          const timers = check as Partial<Record<Timer, number>>;
          if (timers[key] !== undefined) continue;
          timers[key] = v.value;
          ctx.prov.field(check, key, v.node);
        }
      }
      if ((check.type === "http" || check.type === "https") && rs.virtualhost) {
        for (const u of check.urls ?? []) u.virtualhost ??= rs.virtualhost.value;
      }
      normalizeCheckTarget(check, rs.address, checkPort);
      out.push(check);
    }
  }
  return out;
}

/**
 * Chooses the pool's health checks (the most common list of the servers', preferring a
 * non-empty one on a tie) and gives every server whose list differs its own `healthChecks`
 * (`[]` for a server without checkers): keepalived's per-server checkers, exactly.
 */
function poolChecks(
  ctx: ImportContext, servers: ReadonlyArray<{ rs: RealServerTemplate; checks: HealthCheckInput[]; server: RealServerInput }>,
): HealthCheckInput[] {
  const groups = new Map<string, number[]>();
  servers.forEach((s, i) => {
    const key = stableJson(s.checks);
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  let best: number[] = [];
  for (const members of groups.values()) {
    const nonEmpty = (servers[members[0]!]?.checks.length ?? 0) > 0;
    const bestNonEmpty = best.length > 0 && (servers[best[0]!]?.checks.length ?? 0) > 0;
    if (members.length > best.length || (members.length === best.length && nonEmpty && !bestNonEmpty)) best = members;
  }
  const chosen = servers[best[0]!]!;
  const list = chosen.checks.map((c, k) => {
    const nodes = best.flatMap((i) => [...(ctx.prov.nodesOf(servers[i]!.checks[k]!) ?? [])]);
    return ctx.prov.object(ctx.prov.clone(c), [...new Set(nodes)]);
  });
  servers.forEach((s, i) => {
    if (best.includes(i)) return;
    s.server.healthChecks = s.checks;
    const first = s.rs.checkers[0];
    if (first) ctx.prov.field(s.server, "healthChecks", first.node);
  });
  return list;
}

function field<T extends object, K extends keyof T & string>(ctx: ImportContext, target: T, key: K, v: Valued<T[K]> | undefined): void {
  if (!v) return;
  target[key] = v.value;
  ctx.prov.field(target, key, v.node);
}

function buildService(ctx: ImportContext, t: VirtualServerTemplate, id: Identity, env: VirtualServerEnv, inGroup = false): ServiceInput {
  const fwmark = id.kind === "fwmark";
  const poolFwd: ForwardingInput = t.method ? { ...t.method.value } : { method: "nat" };
  const pool: PoolInput = { forwarding: poolFwd, servers: [] };
  let protocol: Protocol | undefined;
  if (!fwmark) {
    protocol = t.protocol?.value;
    if (protocol === undefined) {
      ctx.note(t.node, "virtual_server without protocol: keepalived falls back to UDP (keepalived -t reports it as an error); imported as udp");
      protocol = "udp";
    }
  } else if (t.protocol && id.node === t.node) {
    ctx.drop(t.protocol.node, "protocol of a fwmark virtual_server: keepalived ignores it (with a warning); not imported");
  }
  const svc: ServiceInput = { name: serviceName(env, id, protocol), pool };
  if (id.kind === "addr") {
    svc.protocol = protocol;
    svc.address = id.address;
    svc.port = id.port;
    field(ctx, svc, "family", t.family);
  } else {
    svc.fwmark = id.fwmark;
    const firstRs = t.servers[0]?.address;
    svc.family = id.family ?? t.family?.value ?? (firstRs !== undefined && firstRs.includes(":") ? "inet6" : "inet");
  }
  svc.scheduler = t.scheduler?.value ?? "wlc";
  if (t.flags.length > 0) {
    const flags: SchedulerFlag[] = [];
    for (const f of t.flags) {
      flags.push(f.value);
      ctx.prov.element(flags, f.value, f.node);
    }
    svc.schedulerFlags = flags;
  }
  if (t.persistence) {
    const p: NonNullable<ServiceInput["persistence"]> = { timeout: t.persistence.value };
    const g = t.granularity;
    if (g) {
      if (g.value.includes(".") || g.value.includes(":")) field(ctx, p, "netmask", g);
      else if (/^\d+$/.test(g.value)) field(ctx, p, "prefix", { value: Number(g.value), node: g.node });
      else ctx.drop(g.node, `persistence_granularity ${g.value} is neither a netmask nor a prefix length; not imported`);
    }
    field(ctx, p, "engine", t.engine);
    svc.persistence = ctx.prov.object(p, t.persistence.node);
  } else {
    if (t.granularity) ctx.drop(t.granularity.node, "persistence_granularity without persistence_timeout has no effect; not imported");
    if (t.engine) ctx.drop(t.engine.node, "persistence_engine without persistence_timeout has no effect; not imported");
  }
  if (t.ops?.value) field(ctx, svc, "onePacket", t.ops);
  field(ctx, svc, "virtualhost", t.virtualhost);

  // real servers
  const perServer: Array<{ rs: RealServerTemplate; checks: HealthCheckInput[]; server: RealServerInput }> = [];
  for (const rs of t.servers) {
    const fwd = rs.method?.value ?? poolFwd;
    const nat = fwd.method === "nat";
    const server: RealServerInput = { address: rs.address };
    let checkPort: number | undefined;
    if (id.kind === "fwmark") {
      if (nat) {
        if (rs.port !== undefined && rs.port !== 0) server.port = rs.port;
        checkPort = rs.port ?? 0;
      } else {
        if (rs.port !== undefined && rs.port !== 0) ctx.note(rs.node, `real_server ${rs.address} ${rs.port}: keepalived clears the port of ${fwd.method === "dr" ? "DR" : "TUN"} servers of fwmark services; imported without it`);
        checkPort = 0;
      }
    } else if (nat) {
      if (rs.port !== undefined) server.port = rs.port;
      checkPort = rs.port ?? id.port;
    } else {
      if (rs.port !== undefined && rs.port !== id.port && id.node === t.node) {
        ctx.note(rs.node, `real_server ${rs.address} ${rs.port}: keepalived resets the port of ${fwd.method === "dr" ? "DR" : "TUN"} servers to the service port ${id.port} (with a warning); imported without it`);
      }
      // a DR/TUN server of a group has no port of its own: its checks name theirs
      checkPort = inGroup ? 0 : id.port;
    }
    server.weight = rs.weight?.value ?? 1;
    if (rs.method && !sameForwarding(rs.method.value, poolFwd)) field(ctx, server, "forwarding", { value: { ...rs.method.value }, node: rs.method.node });
    field(ctx, server, "upperThreshold", rs.upper);
    field(ctx, server, "lowerThreshold", rs.lower);
    field(ctx, server, "notifyUp", rs.notifyUp);
    field(ctx, server, "notifyDown", rs.notifyDown);
    pool.servers.push(ctx.prov.object(server, rs.node));
    perServer.push({ rs, checks: checksOf(ctx, rs, checkPort), server });
  }

  const checks = poolChecks(ctx, perServer);
  if (checks.length > 0) pool.healthChecks = checks;
  if (checks.length > 0 || perServer.some((s) => s.checks.length > 0)) {
    // no delay_loop: keepalived's 60 s, which is also what the spec renders without one
    field(ctx, pool, "delayLoop", t.timers.delayLoop);
  } else {
    ctx.note(t.node, "virtual_server without any health checker: the spec gives services without checks to the applier (ipvsadm rules), so keepalived no longer manages it");
  }
  for (const key of ["connectTimeout", "retry", "delayBeforeRetry", "warmup"] as const) field(ctx, pool, key, t.timers[key]);
  field(ctx, pool, "quorum", t.quorum);
  field(ctx, pool, "hysteresis", t.hysteresis);
  field(ctx, pool, "quorumUp", t.quorumUp);
  field(ctx, pool, "quorumDown", t.quorumDown);
  if (t.alpha?.value) field(ctx, pool, "alpha", t.alpha);
  if (t.omega?.value) field(ctx, pool, "omega", t.omega);
  if (t.haSuspend?.value) field(ctx, pool, "haSuspend", t.haSuspend);
  poolFlagFromServers(ctx, t, pool, "inhibit", "inhibitOnFailure");
  poolFlagFromServers(ctx, t, pool, "alpha", "alpha");

  if (t.sorry) {
    const sorry: NonNullable<PoolInput["sorryServer"]> = { address: t.sorry.address };
    const method = t.sorryMethod?.value ?? poolFwd.method;
    if (t.sorry.port !== undefined && !(id.kind === "addr" && method !== "nat" && t.sorry.port === id.port)) {
      if (id.kind === "fwmark" && method !== "nat") {
        ctx.note(t.sorry.node, "sorry_server of a fwmark service with DR/TUN: keepalived ignores its port; imported without it");
      } else {
        sorry.port = t.sorry.port;
      }
    }
    if (t.sorryInhibit?.value) field(ctx, sorry, "inhibit", t.sorryInhibit);
    field(ctx, sorry, "forwarding", t.sorryMethod);
    pool.sorryServer = ctx.prov.object(sorry, t.sorry.node);
  } else {
    if (t.sorryInhibit) ctx.drop(t.sorryInhibit.node, "sorry_server_inhibit without sorry_server; not imported");
    if (t.sorryMethod) ctx.drop(t.sorryMethod.node, "sorry_server_lvs_method without sorry_server; not imported");
  }
  return ctx.prov.object(svc, id.node);
}

/**
 * inhibit_on_failure / alpha: keepalived sets them per virtual server (the servers' default)
 * and per real server; so does the spec, per pool and per server. The pool takes the
 * virtual server's value; a server whose own value differs keeps it (the spec renders each
 * where it was, so a re-import gives the same config).
 */
function poolFlagFromServers(
  ctx: ImportContext, t: VirtualServerTemplate, pool: PoolInput, key: "inhibit" | "alpha", poolKey: "inhibitOnFailure" | "alpha",
): void {
  const vs = t[key];
  let poolValue = false;
  if (vs?.value) {
    field(ctx, pool, poolKey, vs);
    poolValue = true;
  }
  t.servers.forEach((rs, j) => {
    const own = rs[key];
    const server = pool.servers[j];
    if (!own || !server || own.value === poolValue) return;
    field(ctx, server, poolKey, own);
  });
}

/** `a.b.c.d-N` (IPv4, decimal) or `x::y-z` (IPv6, hex): the first address and the last value. */
export function parseRange(text: string): { address: string; last: number } | undefined {
  const dash = text.lastIndexOf("-");
  if (dash <= 0) return undefined;
  const address = text.slice(0, dash);
  const end = text.slice(dash + 1);
  const v6 = address.includes(":");
  if (!(v6 ? /^[0-9a-fA-F]{1,4}$/ : /^\d{1,3}$/).test(end)) return undefined;
  return { address, last: Number.parseInt(end, v6 ? 16 : 10) };
}

type GroupMemberInput = NonNullable<ServiceInput["group"]>["members"][number];

/** The entries of a virtual_server_group as the spec's group members, each from its line. */
function groupMembers(ctx: ImportContext, group: ConfNode): GroupMemberInput[] {
  const out: GroupMemberInput[] = [];
  for (const line of group.children ?? []) {
    if (ctx.rejectBlock(line)) continue;
    if (line.keyword === "fwmark") {
      const n = line.args[0] === undefined ? undefined : ctx.parseNumber(line, line.args[0], { integer: true, min: 1 });
      if (n === undefined) continue;
      if (line.args[1] !== undefined && line.args[1] !== "inet" && line.args[1] !== "inet6") {
        ctx.drop(line, `fwmark ${n} ${line.args[1]}: the family is inet or inet6; not imported`);
        continue;
      }
      out.push(ctx.prov.object({ fwmark: n }, line));
      continue;
    }
    const port = line.args[0] === undefined ? 0 : ctx.parseNumber(line, line.args[0], { integer: true, min: 0, max: 65535 });
    if (port === undefined) continue;
    const range = line.keyword.includes("-") ? parseRange(line.keyword) : undefined;
    if (line.keyword.includes("-") && !range) {
      ctx.drop(line, `${line.keyword}: not an address range the importer reads (a.b.c.d-N, or IPv6 x::y-z in hex); not imported`);
      continue;
    }
    out.push(ctx.prov.object(range ? { address: range.address, last: range.last, port } : { address: line.keyword, port }, line));
  }
  return out;
}

/**
 * `virtual_server group NAME` -> one service with `group.members` (ranges kept): its members
 * are services of their own in the table and the plan, one virtual_server for keepalived.
 */
function mapGroupVirtualServer(ctx: ImportContext, block: ConfNode, env: VirtualServerEnv): ServiceInput[] {
  const name = block.args[1];
  const group = name === undefined ? undefined : env.groups.get(name);
  if (name === undefined || !group) {
    ctx.drop(block, `virtual_server group ${name ?? ""}: no virtual_server_group of that name; not imported`);
    return [];
  }
  env.usedGroups.add(name);
  const members = groupMembers(ctx, group);
  const t = readTemplate(ctx, block, env);
  if (!t) return [];
  const first = members[0];
  if (first === undefined) {
    ctx.drop(block, `virtual_server group ${name}: its group has no entry the spec can express; not imported`);
    return [];
  }
  const fwmarkFamily = group.children?.find((l) => l.keyword === "fwmark" && (l.args[1] === "inet" || l.args[1] === "inet6"))?.args[1] as Family | undefined;
  const id: Identity = "fwmark" in first
    ? { kind: "fwmark", fwmark: first.fwmark, ...(fwmarkFamily ? { family: fwmarkFamily } : {}), node: block }
    : { kind: "addr", address: first.address, port: first.port, node: block };
  const svc = buildService(ctx, t, id, env, true);
  const hasAddress = members.some((m) => "address" in m);
  delete svc.address;
  delete svc.port;
  delete svc.fwmark;
  if (!hasAddress) delete svc.protocol;
  if (hasAddress || svc.family === "inet") delete svc.family;
  if (!hasAddress && fwmarkFamily) svc.family = fwmarkFamily;
  svc.group = { members };
  // the group's name, when the spec's name grammar and the other names allow it
  if (/^[A-Za-z][A-Za-z0-9_.-]{0,62}$/.test(name) && !env.names.has(name)) {
    env.names.delete(svc.name);
    env.names.add(name);
    svc.name = name;
  }
  return [svc];
}

/** One virtual_server block -> its services; reported and [] when it cannot be imported. */
export function mapVirtualServer(ctx: ImportContext, block: ConfNode, env: VirtualServerEnv): ServiceInput[] {
  if (!block.children) {
    ctx.drop(block, "virtual_server needs a '{ }' block; not imported");
    return [];
  }
  if (block.args[0] === "group") return mapGroupVirtualServer(ctx, block, env);
  const ids = identitiesOf(ctx, block, env);
  if (!ids) {
    ctx.markDropped(block);
    return [];
  }
  const t = readTemplate(ctx, block, env);
  if (!t) return [];
  if (ids.length === 0) {
    ctx.drop(block, `virtual_server ${block.args.join(" ")}: its group has no entry the spec can express; not imported`);
    return [];
  }
  if (block.args[0] === "group") {
    const list = ids.map((id) => (id.kind === "fwmark" ? `fwmark ${id.fwmark}` : `${id.address} ${id.port}`));
    ctx.note(block, `virtual_server group ${block.args[1] ?? ""} becomes ${ids.length} separate service${ids.length === 1 ? "" : "s"} (${list.join(", ")}): the spec has no groups, so each gets its own copy of the pool and keepalived checks the servers once per service`);
  }
  return ids.map((id) => buildService(ctx, t, id, env));
}
