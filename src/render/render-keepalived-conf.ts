/**
 * keepalived.conf for one director: global_defs, VRRP (scripts, sync group, instances)
 * and a `virtual_server` block for every service keepalived owns (the health-checked ones;
 * the applier owns the rest, see DESIGN.md "Ownership").
 *
 * Facts this relies on, each checked against keepalived 2.2.7 with `keepalived -t -e`
 * (see keepalived.conf(5)):
 * - scheduler flags must follow `lvs_sched`;
 * - `protocol` must be present on address services (it defaults to UDP with an error) and
 *   absent on fwmark services (a warning, and any warning makes `-t` exit 5);
 * - an HTTP_GET/SSL_GET without a `url { path }` crashes `-t`, so one is always printed;
 * - `include` works inside `authentication { }` (relative paths resolve against the
 *   including file's directory; we print absolute ones); `includea` makes a missing secrets
 *   file a config error (rc 6) even for a plain `keepalived -t`, where a bare `include` only
 *   warns that no password was given and keepalived runs VRRP without authentication;
 * - MISC_CHECK rejects connect_ip/connect_port/bindto/connect_timeout ("Unknown keyword");
 *   misc_timeout and vrrp_script interval/timeout are whole seconds (a fraction is ignored
 *   with "invalid number"), so they are rounded up;
 * - a vrrp_sync_group of one instance draws a warning, so it is printed only with two or more.
 *
 * Same model, same bytes: no timestamps, everything in model order or sorted here.
 */
import { prefixToNetmask } from "../model/addresses.js";
import {
  realServerHealthKey,
  type DirectorModel, type ForwardingMethod, type IpvsRealServer, type IpvsService, type Model, type NotifyScripts, type ServiceGroup,
  type ServiceModel,
  type TunnelOptions, type VrrpInstanceModel, type VrrpScriptModel,
} from "../model/model.js";
import { sortRealServers } from "../model/service-key.js";
import type { HealthCheckSpec } from "../schema/spec-schema.js";
import { KeepalivedWriter, quoted, type KeepalivedValue, type Repeatable } from "./keepalived-writer.js";
import { vrrpAuthIncludePath } from "./render-vrrp-auth.js";

/** The first line of every rendered keepalived.conf. */
export const KEEPALIVED_CONF_HEADER = "rendered by pulumi-ipvs; do not edit";

/**
 * Whether global_defs carries `reload_check_config`: yes. A reload (SIGHUP) then runs the
 * equivalent of `-t` first and keeps the running config when it fails, which protects a
 * director from a hand-made `systemctl reload` with a broken file; the applier still runs
 * `keepalived -t -e` itself before every reload.
 */
export const RELOAD_CHECK_CONFIG = true;

type Health = NonNullable<ServiceModel["health"]>;

/**
 * Rendered `virtual_server` blocks by service, shared between the directors of one model:
 * a block depends only on its service, so an HA pair renders each once. Only for one
 * render pass over an unchanging model (compile's renderModel); keyed by object identity.
 */
export type VirtualServerBlocks = Map<ServiceModel, string>;

/** keepalived.conf for `director`, a member of `model.directors`. */
export function renderKeepalivedConf(model: Model, director: DirectorModel, shared?: VirtualServerBlocks): string {
  const w = new KeepalivedWriter();
  w.comment(`${KEEPALIVED_CONF_HEADER} (director ${director.name})`);
  renderGlobalDefs(model, director, w);
  const owned = director.services.filter((s) => s.owner === "keepalived" && s.health !== undefined);
  renderTrackFiles(owned, w);
  for (const script of model.vrrpScripts) renderVrrpScript(script, w);
  renderSyncGroup(model, director, w);
  for (const inst of director.vrrpInstances) renderVrrpInstance(model, inst, w);
  // a group's members are services of their own; keepalived gets the group once
  const groups = new Set<ServiceGroup>();
  for (const s of owned) {
    if (s.group) {
      if (groups.has(s.group)) continue;
      groups.add(s.group);
    }
    if (!shared) {
      renderVirtualServer(s.ipvs, s.health!, w, s.group);
      continue;
    }
    let block = shared.get(s);
    if (block === undefined) {
      const own = new KeepalivedWriter();
      renderVirtualServer(s.ipvs, s.health!, own, s.group);
      block = own.lines().join("\n");
      shared.set(s, block);
    }
    w.appendText(block);
  }
  return w.toString();
}

function renderGlobalDefs(model: Model, director: DirectorModel, w: KeepalivedWriter): void {
  w.blank().block(["global_defs"], () => {
    w.line("router_id", director.routerId);
    w.line("enable_script_security");
    w.line("script_user", model.keepalived.scriptUser);
    if (RELOAD_CHECK_CONFIG) w.line("reload_check_config");
    const sd = model.syncDaemon;
    // the instance this director follows (normalize sets it per director); a director that
    // runs no VRRP instance has no role to follow and runs no sync daemon
    const follows = director.syncDaemonInstance ?? (director.vrrpInstances.length > 0 ? sd?.instance : undefined);
    if (sd && follows !== undefined) {
      w.line(
        "lvs_sync_daemon", sd.interface, follows, "id", sd.syncId,
        ...opt("maxlen", sd.maxlen), ...opt("port", sd.port), ...opt("ttl", sd.ttl), ...opt("group", sd.group),
      );
    }
    const t = model.timeouts;
    if (t && (t.tcp > 0 || t.tcpFin > 0 || t.udp > 0)) {
      // a zero part means "leave the kernel's value alone", which is what omitting it does
      w.line("lvs_timeouts", ...opt("tcp", t.tcp || undefined), ...opt("tcpfin", t.tcpFin || undefined), ...opt("udp", t.udp || undefined));
    }
  });
}

/** `[keyword, value]` when value is defined, else nothing: for optional tails of one line. */
function opt(keyword: string, value: KeepalivedValue | undefined): KeepalivedValue[] {
  return value === undefined ? [] : [keyword, value];
}

function renderVrrpScript(s: VrrpScriptModel, w: KeepalivedWriter): void {
  w.blank().block(["vrrp_script", s.name], () => {
    w.line("script", quoted(s.command.join(" ")));
    // keepalived reads both as whole seconds and *ignores* a fraction ("invalid number"):
    // round up, so a check never runs more often or times out sooner than asked
    w.line("interval", Math.ceil(s.interval));
    w.optional("timeout", s.timeout === undefined ? undefined : Math.ceil(s.timeout));
    w.optional("weight", s.weight);
    w.optional("rise", s.rise);
    w.optional("fall", s.fall);
  });
}

function renderSyncGroup(model: Model, director: DirectorModel, w: KeepalivedWriter): void {
  const present = new Set(director.vrrpInstances.map((i) => i.name));
  for (const group of model.syncGroups) {
    // only instances this director runs, in name order; a group of one syncs nothing and
    // keepalived warns about it (rc 5 under -t)
    const members = group.instances.filter((n) => present.has(n)).sort();
    if (members.length < 2) continue;
    w.blank().block(["vrrp_sync_group", group.name], () => {
      w.block(["group"], () => {
        for (const name of members) w.line(name);
      });
      renderNotify(group.notify, w);
    });
  }
}

/** notify_master/backup/fault/stop and notify lines, quoted argv. */
function renderNotify(n: NotifyScripts, w: KeepalivedWriter): void {
  if (n.master) w.line("notify_master", quoted(n.master.join(" ")));
  if (n.backup) w.line("notify_backup", quoted(n.backup.join(" ")));
  if (n.fault) w.line("notify_fault", quoted(n.fault.join(" ")));
  if (n.stop) w.line("notify_stop", quoted(n.stop.join(" ")));
  if (n.any) w.line("notify", quoted(n.any.join(" ")));
}

function renderVrrpInstance(model: Model, inst: VrrpInstanceModel, w: KeepalivedWriter): void {
  w.blank().block(["vrrp_instance", inst.name], () => {
    w.line("state", inst.state);
    w.line("interface", inst.interface);
    w.line("virtual_router_id", inst.virtualRouterId);
    w.line("priority", inst.priority);
    w.line("advert_int", inst.advertInterval);
    w.optional("version", inst.version);
    w.flag("nopreempt", inst.nopreempt);
    w.optional("preempt_delay", inst.preemptDelay);
    w.optional("garp_master_delay", inst.garpMasterDelay);
    if (inst.hasAuthPassword) {
      // the password lives only in the include; see render-vrrp-auth.ts
      w.block(["authentication"], () => {
        w.line("auth_type", inst.authType ?? "PASS");
        w.line("includea", vrrpAuthIncludePath(model.keepalived.configDir, inst.name));
      });
    }
    if (inst.unicastSrcIp !== undefined) w.line("unicast_src_ip", inst.unicastSrcIp);
    if (inst.unicastPeers.length > 0) {
      w.block(["unicast_peer"], () => {
        for (const peer of inst.unicastPeers) w.line(peer);
      });
    }
    w.block(["virtual_ipaddress"], () => {
      for (const vip of inst.vips) w.line(vip, "dev", inst.interface);
    });
    if (inst.excludedVips.length > 0) {
      w.block(["virtual_ipaddress_excluded"], () => {
        for (const vip of inst.excludedVips) w.line(vip, "dev", inst.interface);
      });
    }
    if (inst.trackInterfaces.length > 0) {
      w.block(["track_interface"], () => {
        for (const t of inst.trackInterfaces) w.line(t.name, ...opt("weight", t.weight));
      });
    }
    if (inst.trackScripts.length > 0) {
      w.block(["track_script"], () => {
        for (const t of inst.trackScripts) w.line(t.name, ...opt("weight", t.weight));
      });
    }
    renderNotify(inst.notify, w);
  });
}

type FileCheck = Extract<HealthCheckSpec, { type: "file" }>;

/** Top-level `track_file` blocks that FILE_CHECKs refer to, one per name, sorted. */
function renderTrackFiles(services: ServiceModel[], w: KeepalivedWriter): void {
  const files = new Map<string, string>();
  for (const s of services) {
    const perServer = Object.values(s.health?.servers ?? {}).flatMap((o) => o.checks ?? []);
    for (const c of [...(s.health?.checks ?? []), ...perServer]) {
      if (c.type !== "file") continue;
      const seen = files.get(c.name);
      // validation keeps names unique; two paths under one name would silently merge
      if (seen !== undefined && seen !== c.path) {
        throw new Error(`track_file ${c.name} names two files (${seen}, ${c.path})`);
      }
      files.set(c.name, c.path);
    }
  }
  for (const name of [...files.keys()].sort()) {
    w.blank().block(["track_file", name], () => {
      w.line("file", quoted(files.get(name)!));
    });
  }
}

const METHOD_ORDER: Record<ForwardingMethod, number> = { nat: 0, dr: 1, tunnel: 2 };

/** The `lvs_method` values of a forwarding method, e.g. `TUN type gue port 6080 csum`. */
function lvsMethod(method: ForwardingMethod, tunnel?: TunnelOptions): KeepalivedValue[] {
  if (method === "nat") return ["NAT"];
  if (method === "dr") return ["DR"];
  if (!tunnel) return ["TUN"];
  return ["TUN", "type", tunnel.type, ...opt("port", tunnel.type === "gue" ? tunnel.port : undefined), ...(tunnel.checksum ? [tunnel.checksum] : [])];
}

/**
 * The virtual server's default `lvs_method`: the one most real servers use (ties broken by
 * NAT, DR, TUN, then text), so per-server overrides are the exception in the output.
 */
function defaultMethod(servers: readonly IpvsRealServer[]): { text: string; values: KeepalivedValue[] } {
  const counts = new Map<string, { n: number; rank: number; values: KeepalivedValue[] }>();
  for (const rs of servers) {
    const values = lvsMethod(rs.forwarding, rs.tunnel);
    const text = values.join(" ");
    const entry = counts.get(text) ?? { n: 0, rank: METHOD_ORDER[rs.forwarding], values };
    entry.n++;
    counts.set(text, entry);
  }
  let best: { text: string; values: KeepalivedValue[] } = { text: "NAT", values: ["NAT"] };
  let bestKey: [number, number, string] | undefined;
  for (const [text, e] of counts) {
    const key: [number, number, string] = [-e.n, e.rank, text];
    if (!bestKey || key[0] < bestKey[0] || (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))) {
      bestKey = key;
      best = { text, values: e.values };
    }
  }
  return best;
}

const PROTOCOL_KEYWORD = { tcp: "TCP", udp: "UDP", sctp: "SCTP" } as const;

function renderVirtualServer(svc: IpvsService, health: Health, w: KeepalivedWriter, group?: ServiceGroup): void {
  const key = svc.key;
  if (group) {
    w.blank().block(["virtual_server_group", group.name], () => {
      for (const entry of group.entries) {
        const [first, ...rest] = entry.split(" ");
        w.line(first!, ...rest);
      }
    });
  }
  const header: KeepalivedValue[] = group
    ? ["virtual_server", "group", group.name]
    : key.kind === "fwmark"
      ? ["virtual_server", "fwmark", key.fwmark]
      : ["virtual_server", key.address, key.port];
  const servers = sortRealServers([...svc.realServers]);
  const method = defaultMethod(servers);
  w.blank().block(header, () => {
    // fwmark services carry no address: say the family instead of letting keepalived guess
    if (group ? group.protocol === undefined : key.kind === "fwmark") w.line("ip_family", group ? group.family : svc.family);
    w.optional("delay_loop", health.delayLoop);
    w.line("lvs_sched", svc.scheduler);
    for (const flag of svc.flags) w.line(flag); // after lvs_sched: keepalived rejects them before
    w.line("lvs_method", ...method.values);
    const protocol = group ? group.protocol : key.kind === "addr" ? key.protocol : undefined;
    if (protocol !== undefined) w.line("protocol", PROTOCOL_KEYWORD[protocol]);
    w.flag("ops", svc.onePacket);
    if (svc.persistence) {
      w.line("persistence_timeout", svc.persistence.timeout);
      const full = svc.family === "inet" ? 32 : 128;
      if (svc.persistence.prefixLength < full) {
        w.line("persistence_granularity", svc.family === "inet" ? prefixToNetmask(svc.persistence.prefixLength) : svc.persistence.prefixLength);
      }
    }
    w.optional("persistence_engine", svc.persistenceEngine);
    w.optional("virtualhost", health.virtualhost);
    w.optional("quorum", health.quorum);
    w.optional("hysteresis", health.hysteresis);
    if (health.quorumUp) w.line("quorum_up", quoted(health.quorumUp.join(" ")));
    if (health.quorumDown) w.line("quorum_down", quoted(health.quorumDown.join(" ")));
    w.flag("alpha", health.alpha);
    w.flag("omega", health.omega);
    w.flag("ha_suspend", health.haSuspend);
    w.flag("inhibit_on_failure", health.inhibitOnFailure);
    w.optional("connect_timeout", health.connectTimeout);
    renderRetryTimers(health, w);
    const sorry = health.sorryServer;
    if (sorry) {
      w.line("sorry_server", sorry.address, sorry.port === 0 ? undefined : sorry.port);
      w.flag("sorry_server_inhibit", sorry.inhibit);
      if (sorry.forwarding) w.line("sorry_server_lvs_method", ...lvsMethod(sorry.forwarding));
    }
    // the pool's checks print the same under every real server: format them once
    const checks: { printed?: Repeatable } = {};
    for (const rs of servers) renderRealServer(rs, method.text, health, checks, w, group !== undefined);
  });
}

function renderRealServer(
  rs: IpvsRealServer, vsMethod: string, health: Health, printed: { printed?: Repeatable }, w: KeepalivedWriter, inGroup: boolean,
): void {
  const own = health.servers?.[realServerHealthKey(rs)];
  // in a group, keepalived gives DR/TUN servers each entry's own port (and warns about a
  // port on a fwmark entry's): the port is printed for NAT only
  const port = inGroup && rs.forwarding !== "nat" ? undefined : rs.port;
  w.block(port === undefined ? ["real_server", rs.address] : ["real_server", rs.address, port], () => {
    w.line("weight", rs.weight);
    const method = lvsMethod(rs.forwarding, rs.tunnel);
    if (method.join(" ") !== vsMethod) w.line("lvs_method", ...method);
    if (rs.upperThreshold > 0) w.line("uthreshold", rs.upperThreshold);
    if (rs.lowerThreshold > 0) w.line("lthreshold", rs.lowerThreshold);
    // per-server overrides of the virtual server's defaults (keepalived reads `off` too)
    if (own?.inhibitOnFailure !== undefined) w.line("inhibit_on_failure", own.inhibitOnFailure ? undefined : "off");
    if (own?.alpha !== undefined) w.line("alpha", own.alpha ? undefined : "off");
    if (own?.notifyUp) w.line("notify_up", quoted(own.notifyUp.join(" ")));
    if (own?.notifyDown) w.line("notify_down", quoted(own.notifyDown.join(" ")));
    if (own?.checks) {
      for (const check of own.checks) renderCheck(check, w);
    } else if (printed.printed) {
      w.repeat(printed.printed);
    } else {
      printed.printed = w.capture(() => {
        for (const check of health.checks) renderCheck(check, w);
      });
    }
  });
}

type CommonCheckKeys = Exclude<HealthCheckSpec, FileCheck>;

function renderCommonCheckKeys(c: CommonCheckKeys, w: KeepalivedWriter): void {
  // MISC_CHECK makes no connection: keepalived rejects the connection keys there
  // ("Unknown keyword"); its timeout is misc_timeout
  if (c.type !== "command") {
    w.optional("connect_ip", c.connectIp);
    w.optional("connect_port", c.connectPort);
    w.optional("bindto", c.bindTo);
    w.optional("connect_timeout", c.connectTimeout);
  }
  renderRetryTimers(c, w);
  w.optional("delay_loop", c.delayLoop);
}

/** retry, delay_before_retry and warmup: the same keys on a virtual_server and on a checker. */
function renderRetryTimers(t: { retry?: number | undefined; delayBeforeRetry?: number | undefined; warmup?: number | undefined }, w: KeepalivedWriter): void {
  w.optional("retry", t.retry);
  w.optional("delay_before_retry", t.delayBeforeRetry);
  w.optional("warmup", t.warmup);
}

type HttpCheck = Extract<HealthCheckSpec, { type: "http" | "https" }>;

function renderUrls(c: HttpCheck, w: KeepalivedWriter): void {
  w.optional("http_protocol", c.httpProtocol);
  // keepalived 2.2.7 crashes on a checker without a url or a url without a path
  const urls = c.urls && c.urls.length > 0 ? c.urls : [{}];
  for (const u of urls) {
    w.block(["url"], () => {
      w.line("path", u.path ?? "/");
      w.optional("digest", u.digest);
      if (u.statusCode && u.statusCode.length > 0) w.line("status_code", ...u.statusCode);
      w.optional("virtualhost", u.virtualhost);
    });
  }
}

function renderCheck(c: HealthCheckSpec, w: KeepalivedWriter): void {
  switch (c.type) {
    case "tcp":
      w.block(["TCP_CHECK"], () => renderCommonCheckKeys(c, w));
      return;
    case "http":
      w.block(["HTTP_GET"], () => {
        renderCommonCheckKeys(c, w);
        renderUrls(c, w);
      });
      return;
    case "https":
      w.block(["SSL_GET"], () => {
        renderCommonCheckKeys(c, w);
        w.flag("enable_sni", c.enableSni);
        renderUrls(c, w);
      });
      return;
    case "smtp":
      w.block(["SMTP_CHECK"], () => {
        renderCommonCheckKeys(c, w);
        w.optional("helo_name", c.heloName);
      });
      return;
    case "dns":
      w.block(["DNS_CHECK"], () => {
        renderCommonCheckKeys(c, w);
        w.line("type", c.queryType ?? "A");
        w.line("name", c.name);
      });
      return;
    case "udp":
      w.block(["UDP_CHECK"], () => {
        renderCommonCheckKeys(c, w);
        w.optional("payload", c.payload);
        if (c.requireReply === true) w.line("require_reply");
        else if (typeof c.requireReply === "string") w.line("require_reply", c.requireReply);
        w.optional("min_reply_length", c.minReplyLength);
        w.optional("max_reply_length", c.maxReplyLength);
      });
      return;
    case "ping":
      w.block(["PING_CHECK"], () => renderCommonCheckKeys(c, w));
      return;
    case "command":
      w.block(["MISC_CHECK"], () => {
        renderCommonCheckKeys(c, w);
        w.line("misc_path", quoted(c.command.join(" ")));
        // misc_timeout is whole seconds ("invalid number '2.5'"): round up, never shorten it
        w.optional("misc_timeout", c.timeout === undefined ? undefined : Math.ceil(c.timeout));
        w.flag("misc_dynamic", c.dynamic);
      });
      return;
    case "file":
      w.block(["FILE_CHECK"], () => {
        w.line("track_file", c.name);
        if (c.weight !== undefined || c.reverse === true) {
          // track_file's own default weight is 1; `reverse` needs a weight to attach to
          w.line("weight", c.weight ?? 1, c.reverse === true ? "reverse" : undefined);
        }
      });
      return;
  }
}
