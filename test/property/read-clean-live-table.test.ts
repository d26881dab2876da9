/**
 * The one-pass reader of a state dump's table (`ipvsadm -S -n` + `--thresholds` in lockstep)
 * must give exactly what the general reading gives, or nothing: on clean dumps in kernel
 * order it answers, and whatever is damaged it either answers the same as the general
 * reading (which then has no issue) or hands over.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { IpvsService, IpvsTable } from "../../src/model/model.js";
import { formatAddressPort } from "../../src/model/addresses.js";
import { realServerKeyString, serviceKeyString } from "../../src/model/service-key.js";
import { renderIpvsadmRules, renderRealServerCommand, renderServiceCommand } from "../../src/render/render-ipvsadm-rules.js";
import { readTableWithIssues } from "../../src/state/parse-live-state.js";
import { readCleanLiveTable } from "../../src/state/read-clean-live-table.js";
import { FC_SEED, arbIpvsTable } from "../support/arbitraries.js";

/** The table in another order, as the kernel lists it: services and each pool shuffled. */
function kernelOrder(table: IpvsTable, seed: number): IpvsService[] {
  let x = seed + 1;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648);
  const shuffle = <T>(xs: readonly T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = rnd() % (i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  return shuffle(table.services).map((s) => ({ ...s, realServers: shuffle(s.realServers) }));
}

/** `ipvsadm -S -n` of the services (no thresholds: -S never saves them), or our rule file with them. */
function saveText(services: readonly IpvsService[], withThresholds: boolean): string {
  const lines: string[] = [];
  for (const s of services) {
    lines.push(renderServiceCommand("-A", s));
    for (const rs of s.realServers) {
      const line = renderRealServerCommand("-a", s, rs);
      lines.push(withThresholds ? line : line.replace(/ -x \d+ -y \d+/, ""));
    }
  }
  return lines.join("\n");
}

/** `ipvsadm -L -n --thresholds` of the services, with made-up connection counts. */
function listingText(services: readonly IpvsService[], seed: number): string {
  const out = ["IP Virtual Server version 1.2.1 (size=4096)", "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn", "  -> RemoteAddress:Port"];
  let n = seed;
  for (const s of services) {
    const k = s.key;
    out.push(k.kind === "fwmark" ? `FWM  ${k.fwmark}${k.family === "inet6" ? " IPv6" : ""} ${s.scheduler}` : `${k.protocol.toUpperCase()}  ${formatAddressPort(k.address, k.port)} ${s.scheduler}`);
    for (const rs of s.realServers) {
      n = (n * 31 + 7) % 1000;
      out.push(`  -> ${formatAddressPort(rs.address, rs.port).padEnd(28)} ${String(rs.upperThreshold).padEnd(10)} ${String(rs.lowerThreshold).padEnd(10)} ${String(n).padEnd(10)} ${n % 17}`);
    }
  }
  return out.join("\n");
}

function assertSameAsGeneral(save: string, listing: string, mustAnswer: boolean): void {
  const fast = readCleanLiveTable(save, listing);
  if (!fast) {
    assert.ok(!mustAnswer, "the one-pass reader refused a clean dump");
    return;
  }
  const issues: never[] = [];
  const general = readTableWithIssues(save, listing, undefined, issues);
  assert.deepEqual(issues, [], "the one-pass reader answered where the general reading finds issues");
  assert.deepEqual(fast.table, general.table);
  for (const s of general.table.services) {
    const id = serviceKeyString(s.key);
    const want = general.connections.get(id);
    const got = fast.connections.get(id);
    for (const rs of s.realServers) assert.deepEqual(got?.get(realServerKeyString(rs)), want?.get(realServerKeyString(rs)), `${id} ${realServerKeyString(rs)}`);
  }
}

test("clean dumps in kernel order: the same table, thresholds and counts as the general reading", () => {
  fc.assert(fc.property(arbIpvsTable({ maxServices: 8, maxRealServers: 6 }), fc.nat(), fc.boolean(), (table, seed, withThresholds) => {
    const services = kernelOrder(table, seed);
    assertSameAsGeneral(saveText(services, withThresholds), listingText(services, seed), true);
  }), { seed: FC_SEED, numRuns: 400 });
});

/** Damage done to one line of a dump. */
const damage = fc.record({
  which: fc.constantFrom("save", "listing"),
  at: fc.nat(),
  how: fc.constantFrom("drop", "duplicate", "swap-next", "garbage", "cr", "letter", "big-number", "bump", "port", "blank", "spaces", "tab", "upper", "in-padding", "non-ascii"),
});

function damaged(text: string, d: { at: number; how: string }): string {
  const lines = text.split("\n");
  const i = d.at % lines.length;
  const line = lines[i]!;
  switch (d.how) {
    case "drop": lines.splice(i, 1); break;
    case "duplicate": lines.splice(i, 0, line); break;
    case "swap-next": if (i + 1 < lines.length) [lines[i], lines[i + 1]] = [lines[i + 1]!, line]; break;
    case "garbage": lines.splice(i, 0, "-X nonsense"); break;
    case "cr": lines[i] = `${line}\r`; break;
    case "letter": lines[i] = line.replace(/\d(?=\D*$)/, "x"); break;
    case "big-number": lines[i] = line.replace(/\d+(?=\D*$)/, "99999999999"); break;
    case "bump": lines[i] = line.replace(/\d+(?=\D*$)/, (n) => String(Number(n) + 1000)); break;
    case "port": lines[i] = line.replace(/(-r \S+:|-> \S+:)(\d+)/, (_, head: string, n: string) => `${head}${(Number(n) + 1) % 65536}`); break;
    case "blank": lines.splice(i, 0, ""); break;
    case "spaces": lines[i] = line.replace(/ /, "  "); break;
    case "tab": lines[i] = line.replace(/ +/, "\t"); break;
    case "in-padding": lines[i] = line.replace(/(\S)   (?=\S*\s*\S*\s*$)/, "$1 x "); break;
    case "upper": lines[i] = line.toUpperCase(); break;
    // the reader works on bytes: a character beyond ASCII must send the dump the general way
    case "non-ascii": lines[i] = line.replace(/\d/, "\u0661"); break;
  }
  return lines.join("\n");
}

test("damaged dumps: the general reading's answer, or a hand-over", () => {
  fc.assert(fc.property(arbIpvsTable({ maxServices: 6, maxRealServers: 5 }), fc.nat(), fc.boolean(), fc.array(damage, { minLength: 1, maxLength: 3 }), (table, seed, withThresholds, damages) => {
    const services = kernelOrder(table, seed);
    let save = saveText(services, withThresholds), listing = listingText(services, seed);
    for (const d of damages) {
      if (d.which === "save") save = damaged(save, d);
      else listing = damaged(listing, d);
    }
    assertSameAsGeneral(save, listing, false);
  }), { seed: FC_SEED, numRuns: 1500 });
});

test("a listing out of step with the save (the table changed between the two reads) is handed over", () => {
  const save = "-A -t 203.0.113.1:80 -s wlc\n-a -t 203.0.113.1:80 -r 192.0.2.1:80 -m -w 1";
  const listing = ["IP Virtual Server version 1.2.1 (size=4096)", "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn", "  -> RemoteAddress:Port",
    "TCP  203.0.113.1:80 wlc", "  -> 192.0.2.1:80                 5          1          0          0", "  -> 192.0.2.2:80                 0          0          0          0"].join("\n");
  assert.equal(readCleanLiveTable(save, listing), undefined);
  assert.equal(readCleanLiveTable(save, listing.split("\n").slice(0, -1).join("\n"))?.table.services[0]?.realServers[0]?.upperThreshold, 5);
});

test("every check of the general reader holds on the one-pass path", () => {
  const head = "-A -t 203.0.113.1:80 -s wlc\n";
  const listed = (rows: string[]) => ["IP Virtual Server version 1.2.1 (size=4096)", "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn",
    "  -> RemoteAddress:Port", "TCP  203.0.113.1:80 wlc", ...rows.map((r) => `  -> ${r.padEnd(28)} 0          0          0          0`)].join("\n");
  const cases: [string, string, string[]][] = [
    ["lower threshold above upper", "-a -t 203.0.113.1:80 -r 192.0.2.1:80 -m -w 1 -x 5 -y 6", ["192.0.2.1:80"]],
    ["weight above INT_MAX", "-a -t 203.0.113.1:80 -r 192.0.2.1:80 -m -w 2147483648", ["192.0.2.1:80"]],
    ["port above 65535", "-a -t 203.0.113.1:80 -r 192.0.2.1:65536 -m -w 1", ["192.0.2.1:65536"]],
    ["address part above 255", "-a -t 203.0.113.1:80 -r 192.0.2.256:80 -m -w 1", ["192.0.2.256:80"]],
    ["IPv6 server of an IPv4 service", "-a -t 203.0.113.1:80 -r [2001:db8::1]:80 -m -w 1", ["[2001:db8::1]:80"]],
    ["same server twice", "-a -t 203.0.113.1:80 -r 192.0.2.1:80 -m -w 1\n-a -t 203.0.113.1:80 -r 192.0.2.1:80 -m -w 2", ["192.0.2.1:80", "192.0.2.1:80"]],
    ["server of another service", "-a -t 203.0.113.2:80 -r 192.0.2.1:80 -m -w 1", []],
    ["unknown option", "-a -t 203.0.113.1:80 -r 192.0.2.1:80 -m -w 1 --bogus", ["192.0.2.1:80"]],
    ["direct routing to another port", "-a -t 203.0.113.1:80 -r 192.0.2.1:8080 -g -w 1", ["192.0.2.1:80"]],
  ];
  const services: [string, string][] = [
    ["unknown scheduler", "-A -t 203.0.113.1:80 -s bogus"],
    ["zero port without persistence", "-A -t 203.0.113.1:0 -s wlc"],
    ["persistence timeout 0", "-A -t 203.0.113.1:80 -s wlc -p 0"],
    ["persistence timeout above the kernel's", "-A -t 203.0.113.1:80 -s wlc -p 2678401"],
    ["address part above 255", "-A -t 203.0.113.256:80 -s wlc"],
    ["a trailing option the fast path does not know", "-A -t 203.0.113.1:80 -s wlc -p 30 -M 255.255.255.0"],
  ];
  for (const [what, line] of services) {
    // the server and the listing name the service as the line does
    const vip = line.split(" ")[2]!;
    const save = `${line}\n-a -t ${vip} -r 192.0.2.1:80 -m -w 1`;
    const listing = listed(["192.0.2.1:80"]).replace("TCP  203.0.113.1:80 wlc", `TCP  ${vip} wlc`);
    const fast = readCleanLiveTable(save, listing);
    const issues: unknown[] = [];
    const general = readTableWithIssues(save, listing, undefined, issues as never[]);
    if (issues.length > 0) assert.equal(fast, undefined, `${what}: the one-pass reader answered where the general reading has issues`);
    else assert.deepEqual(fast?.table, general.table, what);
  }
  for (const [what, lines, rows] of cases) {
    const save = head + lines;
    const fast = readCleanLiveTable(save, listed(rows));
    const issues: unknown[] = [];
    const general = readTableWithIssues(save, listed(rows), undefined, issues as never[]);
    if (issues.length > 0) assert.equal(fast, undefined, `${what}: the one-pass reader answered where the general reading has issues`);
    else assert.deepEqual(fast?.table, general.table, what);
  }
});

/** A change made to the expected table, so that it and the dump differ somewhere. */
const change = fc.record({
  at: fc.nat(),
  how: fc.constantFrom("weight", "upper", "drop", "add", "forwarding", "swap", "address-form", "tunnel-port", "drop-service", "family"),
});

function changed(table: IpvsTable, c: { at: number; how: string }): void {
  const services = table.services;
  if (services.length === 0) return;
  const svc = services[c.at % services.length]!;
  if (c.how === "drop-service") {
    services.splice(services.indexOf(svc), 1);
    return;
  }
  if (c.how === "family") {
    svc.family = svc.family === "inet" ? "inet6" : "inet";
    return;
  }
  const servers = svc.realServers;
  if (servers.length === 0) return;
  const i = c.at % servers.length;
  const rs = servers[i]!;
  switch (c.how) {
    case "weight": rs.weight = (rs.weight + 1) % 65536; break;
    case "upper": rs.upperThreshold += 1; break;
    case "drop": servers.splice(i, 1); break;
    case "add": servers.splice(i + 1, 0, { ...rs, port: (rs.port + 1) % 65536 }); break;
    case "forwarding": rs.forwarding = rs.forwarding === "nat" ? "dr" : "nat"; delete rs.tunnel; break;
    case "swap": if (i + 1 < servers.length) [servers[i], servers[i + 1]] = [servers[i + 1]!, rs]; break;
    // the same address in a form the reader never keeps: a leading zero, upper-case hex
    case "address-form": rs.address = rs.address.includes(":") ? rs.address.toUpperCase().replace(/^([0-9A-F]+)/, "0$1") : `0${rs.address}`; break;
    case "tunnel-port": if (rs.tunnel) rs.tunnel = { ...rs.tunnel, port: 6080 }; break;
  }
}

/** The servers as `ipvsadm -S` and `-L` list them: ipvsadm sorts them itself, much as we do. */
function listedOrder(table: IpvsTable, seed: number): IpvsService[] {
  const shuffled = kernelOrder(table, seed);
  const byId = new Map(table.services.map((s) => [serviceKeyString(s.key), s.realServers]));
  return shuffled.map((s) => ({ ...s, realServers: [...byId.get(serviceKeyString(s.key))!] }));
}

function renderedOrUndefined(table: IpvsTable): string | undefined {
  try {
    return renderIpvsadmRules(table);
  } catch {
    return undefined;
  }
}

/** A service the reader can give back as expected: servers of its family, tunnels plain ipip. */
function sharable(s: IpvsService): boolean {
  return s.realServers.length > 0 && s.realServers.every((rs) =>
    rs.address.includes(":") === (s.family === "inet6") && (rs.forwarding !== "tunnel" || (rs.tunnel?.type === "ipip" && rs.tunnel.port === undefined && rs.tunnel.checksum === undefined)));
}

test("with an expected table: the same answer, the expected table untouched, its servers shared where the dump lists exactly them", () => {
  fc.assert(fc.property(arbIpvsTable({ maxServices: 6, maxRealServers: 6 }), fc.nat(), fc.boolean(), fc.boolean(), fc.array(change, { maxLength: 3 }), fc.array(damage, { maxLength: 1 }), fc.boolean(),
    (table, seed, withThresholds, sortedListing, changes, damages, withRules) => {
      const services = sortedListing ? listedOrder(table, seed) : kernelOrder(table, seed);
      let save = saveText(services, withThresholds), listing = listingText(services, seed);
      for (const d of damages) {
        if (d.which === "save") save = damaged(save, d);
        else listing = damaged(listing, d);
      }
      const expected = structuredClone(table);
      for (const c of changes) changed(expected, c);
      const before = structuredClone(expected);
      const plain = readCleanLiveTable(save, listing);
      // the rules text compile renders with the table: whole services are compared at once
      // (an address in a form no one writes may not render: then without)
      const rules = withRules ? renderedOrUndefined(expected) : undefined;
      const hinted = readCleanLiveTable(save, listing, rules === undefined ? { table: expected } : { table: expected, rules });
      assert.deepEqual(expected, before, "the expected table was written to");
      assert.equal(hinted === undefined, plain === undefined);
      if (!plain || !hinted) return;
      assert.deepEqual(hinted.table, plain.table);
      for (const s of plain.table.services) {
        const id = serviceKeyString(s.key);
        for (const rs of s.realServers) {
          assert.deepEqual(hinted.connections.get(id)?.get(realServerKeyString(rs)), plain.connections.get(id)?.get(realServerKeyString(rs)), `${id} ${realServerKeyString(rs)}`);
        }
      }
      const expectedArrays = new Set(expected.services.map((s) => s.realServers));
      const sharedCount = hinted.table.services.filter((s) => expectedArrays.has(s.realServers)).length;
      // nothing changed, nothing damaged, listed in order, no -x/-y on the lines (or lines
      // that are the rules' own): every plain service is shared
      if (sortedListing && (!withThresholds || withRules) && changes.length === 0 && damages.length === 0) {
        assert.equal(sharedCount, table.services.filter(sharable).length);
      }
      // only weights changed: a changed pool still holds every other expected server itself
      if (sortedListing && !withThresholds && damages.length === 0 && changes.every((c) => c.how === "weight")) {
        const expectedServers = new Set(expected.services.flatMap((s) => s.realServers));
        const sharedServers = hinted.table.services.reduce((n, s) => n + s.realServers.filter((rs) => expectedServers.has(rs)).length, 0);
        const sharableServers = table.services.filter(sharable).reduce((n, s) => n + s.realServers.length, 0);
        assert.ok(sharedServers >= sharableServers - changes.length, `${sharedServers} of ${sharableServers} servers shared`);
      }
    }), { seed: FC_SEED, numRuns: 1500 });
});
