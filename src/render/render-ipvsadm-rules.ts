/**
 * render: IPVS table -> the `ipvsadm -R` rule set, line for line the format `ipvsadm -S -n`
 * prints (see reference/ipvsadm.md), plus `-x`/`-y` thresholds, which `-S` never saves.
 * The single-command renderers are shared with the planner so a plan's `-A/-E/-a/-e/-d/-D`
 * lines and the rule file can never disagree.
 */
import { formatAddressPort, prefixToNetmask } from "../model/addresses.js";
import type { Family, IpvsRealServer, IpvsService, IpvsTable, ServiceKey, TunnelOptions } from "../model/model.js";
import { canonicalFlags } from "../model/normalize.js";
import { AsciiWriter, StringSink, type TextSink } from "./ascii-writer.js";
import {
  compareServiceKeys, isSorted, realServersSorted, serviceSelector, serviceSortKey, sortByKey, sortRealServers,
} from "../model/service-key.js";

const FORWARDING_SWITCH = { dr: "-g", tunnel: "-i", nat: "-m" } as const;

/** `-M` operand, or undefined for the full-length default that ipvsadm does not print. */
function netmaskOperand(family: Family, prefixLength: number): string | undefined {
  if (family === "inet") return prefixLength === 32 ? undefined : prefixToNetmask(prefixLength);
  return prefixLength === 128 ? undefined : String(prefixLength);
}

/** Tunnel options exactly as ipvsadm 1.31 `-S` prints them: gue and gre always name the checksum mode. */
function tunnelOperands(tunnel: TunnelOptions | undefined): string[] {
  const t = tunnel ?? { type: "ipip" };
  switch (t.type) {
    case "ipip":
      return ["--tun-type", "ipip"];
    case "gue":
      return [
        "--tun-type", "gue",
        ...(t.port !== undefined ? ["--tun-port", String(t.port)] : []),
        `--tun-${t.checksum ?? "nocsum"}`,
      ];
    case "gre":
      return ["--tun-type", "gre", `--tun-${t.checksum ?? "nocsum"}`];
  }
}

/**
 * A full service definition as an `-A` (add) or `-E` (edit) command, e.g.
 * `-A -t 10.0.0.1:80 -s wrr -p 30 -M 255.255.255.0 -b flag-1`.
 * `-E` replaces every option (omitted ones fall back to defaults), so this always sends all.
 */
export function renderServiceCommand(op: "-A" | "-E", svc: IpvsService): string {
  const parts: string[] = [op, serviceSelector(svc.key), "-s", svc.scheduler];
  if (svc.persistence) {
    parts.push("-p", String(svc.persistence.timeout));
    const mask = netmaskOperand(svc.family, svc.persistence.prefixLength);
    if (mask !== undefined) parts.push("-M", mask);
  }
  if (svc.persistenceEngine !== undefined) parts.push("--pe", svc.persistenceEngine);
  if (svc.onePacket) parts.push("-o");
  const flags = canonicalFlags(svc.scheduler, svc.flags);
  if (flags.length > 0) parts.push("-b", flags.join(","));
  return parts.join(" ");
}

/**
 * A full real-server definition as an `-a` (add) or `-e` (edit) command, e.g.
 * `-a -t 10.0.0.1:80 -r 192.0.2.10:8080 -m -w 5 -x 100 -y 50`.
 * Thresholds go right after the weight and only when one is non-zero.
 */
export function renderRealServerCommand(op: "-a" | "-e", svc: Pick<IpvsService, "key">, rs: IpvsRealServer): string {
  return realServerCommand(`${op} ${serviceSelector(svc.key)} -r `, rs);
}

/** A real-server command after its `OP SELECTOR -r ` prefix, as one string. */
function realServerCommand(prefix: string, rs: IpvsRealServer): string {
  const line = new StringSink();
  writeRealServerCommand(line, prefix, rs);
  return line.value;
}

/** The `-A` line of a service as it appears in the rule file. */
export function renderServiceLine(svc: IpvsService): string {
  return renderServiceCommand("-A", svc);
}

/** The `-a` line of a real server as it appears in the rule file. */
export function renderRealServerLine(svc: Pick<IpvsService, "key">, rs: IpvsRealServer): string {
  return renderRealServerCommand("-a", svc, rs);
}

/** `-D -t 10.0.0.1:80`: deletes a service and all its real servers. */
export function renderDeleteService(key: ServiceKey): string {
  return `-D ${serviceSelector(key)}`;
}

/** `-d -t 10.0.0.1:80 -r 192.0.2.10:80`: the port must be the stored one (the service port for DR/TUN). */
export function renderDeleteRealServer(key: ServiceKey, rs: Pick<IpvsRealServer, "address" | "port">): string {
  return `-d ${serviceSelector(key)} -r ${formatAddressPort(rs.address, rs.port)}`;
}

/**
 * The whole table as an `ipvsadm -R` input: each service line followed by its real
 * servers, in numeric order whatever the input order, one trailing newline, no comments
 * (`-R` aborts on them). An empty table renders as the empty string.
 */
export function renderIpvsadmRules(table: IpvsTable): string {
  // the caller's table is never reordered: a sorted list (every compiled table) is read
  // as it is, any other is sorted as a copy
  const byKey = (a: IpvsService, b: IpvsService) => compareServiceKeys(a.key, b.key);
  const services = isSorted(table.services, byKey) ? table.services : sortByKey([...table.services], (s) => serviceSortKey(s.key));
  const sorted = services.map((svc) => realServersSorted(svc.realServers) ? svc.realServers : sortRealServers([...svc.realServers]));
  let lineCount = services.length;
  for (const servers of sorted) lineCount += servers.length;
  // the file of a big table is written as bytes (AsciiWriter); its lines are the very ones
  // the single-command renderers print (test/property/render-ipvsadm-rules.test.ts)
  const w = new AsciiWriter(lineCount * 64);
  services.forEach((svc, k) => {
    w.text(renderServiceLine(svc));
    w.text("\n");
    const prefix = `-a ${serviceSelector(svc.key)} -r `;
    for (const rs of sorted[k]!) {
      writeRealServerCommand(w, prefix, rs);
      w.text("\n");
    }
  });
  if (w.ascii) return w.finish();
  const lines = services.flatMap((svc, k) => [renderServiceLine(svc), ...sorted[k]!.map((rs) => renderRealServerLine(svc, rs))]);
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/** ` -m -w ` and the others: one string per method, not one per line */
const SWITCH_AND_WEIGHT: Record<string, string> = Object.fromEntries(
  Object.entries(FORWARDING_SWITCH).map(([method, flag]) => [method, ` ${flag} -w `]),
);

/**
 * The one definition of a real-server command line (`ADDRESS:PORT -m|-g|-i -w W[ -x U -y L][
 * tunnel options]` after `prefix`), for the rule file and for single commands alike.
 */
function writeRealServerCommand(w: TextSink, prefix: string, rs: IpvsRealServer): void {
  w.text(prefix);
  w.text(formatAddressPort(rs.address, rs.port));
  w.text(SWITCH_AND_WEIGHT[rs.forwarding] ?? ` ${FORWARDING_SWITCH[rs.forwarding]} -w `);
  w.number(rs.weight);
  if (rs.upperThreshold !== 0 || rs.lowerThreshold !== 0) {
    w.text(" -x ");
    w.number(rs.upperThreshold);
    w.text(" -y ");
    w.number(rs.lowerThreshold);
  }
  if (rs.forwarding === "tunnel") w.text(` ${tunnelOperands(rs.tunnel).join(" ")}`);
}
