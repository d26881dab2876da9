/**
 * `ipvsadm -S -n` dump -> spec. Every service becomes an applier-owned service (no health
 * checks: nothing in a dump says how servers are checked), with the table's exact scheduler,
 * flags, persistence, forwarding, weights and thresholds, so that compiling the spec renders
 * rules that load back into the same table. Lines ipvsadm would reject, and services the
 * spec's rules refuse, are reported as `unsupported-construct` warnings at their line.
 */
import { formatPath, type Issue } from "../issues.js";
import { prefixToNetmask } from "../model/addresses.js";
import type { IpvsRealServer, IpvsService } from "../model/model.js";
import { specIdentityOf } from "../model/normalize.js";
import { realServerKeyString, serviceKeyString } from "../model/service-key.js";
import type { SpecInput } from "../schema/spec-schema.js";
import { applyIpvsadmCommands, parseIpvsadmCommands, tokenizeIpvsadmLine } from "../state/parse-ipvsadm-save.js";
import { ImportContext, type DirectorInput, type ForwardingInput, type RealServerInput, type ServiceInput } from "./import-context.js";
import { sortFindings } from "./import-findings.js";
import { directorNameFor, type ImportResult } from "./import-keepalived-conf.js";
import type { ConfNode } from "./parse-keepalived-conf.js";
import { repairSpec } from "./repair-spec.js";

/** Options of {@link importIpvsadmSave}. */
export interface IpvsadmImportOptions {
  /** the director's name @default derived from the file name */
  directorName?: string;
}

/** One node per non-empty line: the command option as keyword, the rest as arguments. */
function lineNodes(text: string, file: string): Map<number, ConfNode> {
  const out = new Map<number, ConfNode>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const tokens = tokenizeIpvsadmLine(raw);
    if (tokens.length === 0) return;
    const column = raw.length - raw.trimStart().length + 1;
    out.set(i + 1, {
      keyword: tokens[0]!,
      args: tokens.slice(1),
      quoted: tokens.slice(1).map(() => false),
      location: { file, line: i + 1, column, lineText: raw },
    });
  });
  return out;
}

function forwardingOf(rs: IpvsRealServer): ForwardingInput {
  const fwd: ForwardingInput = { method: rs.forwarding };
  if (rs.tunnel) {
    if (rs.tunnel.type !== "ipip") fwd.tunnelType = rs.tunnel.type;
    if (rs.tunnel.port !== undefined) fwd.tunnelPort = rs.tunnel.port;
    if (rs.tunnel.checksum !== undefined) fwd.tunnelChecksum = rs.tunnel.checksum;
  }
  return fwd;
}

const METHOD_RANK = { nat: 0, dr: 1, tunnel: 2 } as const;

/** The pool's forwarding: the one most servers use (ties: nat, dr, tunnel), so overrides are rare. */
function poolForwarding(servers: readonly IpvsRealServer[]): ForwardingInput {
  const counts = new Map<string, { n: number; fwd: ForwardingInput }>();
  for (const rs of servers) {
    const fwd = forwardingOf(rs);
    const key = JSON.stringify(fwd);
    const e = counts.get(key) ?? { n: 0, fwd };
    e.n++;
    counts.set(key, e);
  }
  let best: { n: number; fwd: ForwardingInput } | undefined;
  for (const e of counts.values()) {
    if (!best || e.n > best.n || (e.n === best.n && METHOD_RANK[e.fwd.method] < METHOD_RANK[best.fwd.method])) best = e;
  }
  return best?.fwd ?? { method: "nat" };
}

function serviceName(s: IpvsService, names: Set<string>): string {
  const k = s.key;
  const base = k.kind === "fwmark"
    ? `fwmark-${k.fwmark}${k.family === "inet6" ? "-inet6" : ""}`
    : `${k.protocol}-${k.address.replace(/:/g, "_")}-${k.port}`;
  let name = base.slice(0, 60);
  for (let i = 2; names.has(name); i++) name = `${base.slice(0, 56)}-${i}`;
  names.add(name);
  return name;
}

function serviceOf(
  ctx: ImportContext, s: IpvsService, names: Set<string>, node: ConfNode | undefined, serverNode: (rs: IpvsRealServer) => ConfNode | undefined,
): ServiceInput {
  const fwd = poolForwarding(s.realServers);
  const servers: RealServerInput[] = [];
  for (const rs of s.realServers) {
    const server: RealServerInput = { address: rs.address };
    // the kernel keeps the service port for DR/TUN servers (and 0 for fwmark): only NAT ports say something
    if (rs.forwarding === "nat" && !(s.key.kind === "fwmark" && rs.port === 0)) server.port = rs.port;
    server.weight = rs.weight;
    if (rs.upperThreshold > 0) server.upperThreshold = rs.upperThreshold;
    if (rs.lowerThreshold > 0) server.lowerThreshold = rs.lowerThreshold;
    const own = forwardingOf(rs);
    if (JSON.stringify(own) !== JSON.stringify(fwd)) server.forwarding = own;
    const node = serverNode(rs);
    servers.push(node ? ctx.prov.object(server, node) : server);
  }
  // key order is the writer's business (format-spec.ts)
  const ordered: ServiceInput = { name: serviceName(s, names), pool: { forwarding: fwd, servers } };
  if (node) ctx.prov.object(ordered, node);
  Object.assign(ordered, specIdentityOf(s.key));
  ordered.scheduler = s.scheduler;
  if (s.flags.length > 0) ordered.schedulerFlags = [...s.flags];
  if (s.persistence) {
    const p: NonNullable<ServiceInput["persistence"]> = { timeout: s.persistence.timeout };
    const full = s.family === "inet" ? 32 : 128;
    if (s.persistence.prefixLength < full) {
      if (s.family === "inet") p.netmask = prefixToNetmask(s.persistence.prefixLength);
      else p.prefix = s.persistence.prefixLength;
    }
    if (s.persistenceEngine) p.engine = s.persistenceEngine;
    ordered.persistence = p;
  } else if (s.persistenceEngine && node) {
    ctx.note(node, "--pe sip without -p (persistence): the spec has no persistence engine without persistence; the engine is not imported");
  }
  if (s.onePacket) ordered.onePacket = true;
  return ordered;
}

/**
 * Imports `ipvsadm -S -n` output (or an `ipvsadm -R` rule file). `file` names it in
 * findings. Services come out applier-owned: add health checks to hand them to keepalived.
 */
export function importIpvsadmSave(text: string, file: string, options: IpvsadmImportOptions = {}): ImportResult {
  const nodes = lineNodes(text, file);
  const tree = [...nodes.values()];
  const ctx = new ImportContext(tree);
  const at = (issue: Issue): ConfNode => {
    const line = typeof issue.path[1] === "number" ? issue.path[1] : 0;
    return nodes.get(line) ?? { keyword: "?", args: [], quoted: [], location: { file, line, column: 1 } };
  };
  const parsed = parseIpvsadmCommands(text);
  for (const issue of parsed.issues) ctx.drop(at(issue), `${issue.message.replace(/^line \d+: /, "")}; not imported`, issue.hint);
  const applied = applyIpvsadmCommands({ services: [] }, parsed.commands);
  for (const issue of applied.issues) ctx.drop(at(issue), `${issue.message.replace(/^line \d+: /, "")}; not imported`, issue.hint);

  // where each service and server was added, for findings
  const serviceLine = new Map<string, ConfNode>();
  const serverLine = new Map<string, ConfNode>();
  for (const cmd of parsed.commands) {
    const node = nodes.get(cmd.line);
    if (!node) continue;
    if (cmd.op === "add-service" || cmd.op === "edit-service") serviceLine.set(serviceKeyString(cmd.service.key), node);
    if (cmd.op === "add-server" || cmd.op === "edit-server") serverLine.set(`${serviceKeyString(cmd.key)} ${realServerKeyString(cmd.server)}`, node);
  }

  const names = new Set<string>();
  const services = applied.table.services.map((s) => {
    const id = serviceKeyString(s.key);
    return serviceOf(ctx, s, names, serviceLine.get(id), (rs) => serverLine.get(`${id} ${realServerKeyString(rs)}`));
  });
  const director: DirectorInput = { name: directorNameFor(options.directorName, file), interfaces: ["eth0"] };
  const spec: SpecInput = { directors: [director], services };
  const specIssues = repairSpec(spec, ctx.prov, (origin, cause) => {
    ctx.drop(origin.node, `${[origin.node.keyword, ...origin.node.args].join(" ")}: not imported: ${cause.message} (${formatPath(cause.path)})`, cause.hint);
  });
  return {
    spec,
    findings: sortFindings(ctx.findings, [file]),
    specIssues,
    dropped: ctx.dropped,
    notes: [
      { path: ["directors", 0], comment: `imported from ${file}: add ssh: { host, hostKey } to plan and apply against this director` },
      { path: ["directors", 0, "interfaces"], comment: "placeholder: an ipvsadm dump names no interface; list the director's interfaces" },
      { path: ["services"], comment: "no health checks: the applier owns these services; add healthChecks to hand a service to keepalived" },
    ],
    tree,
    files: [file],
  };
}
