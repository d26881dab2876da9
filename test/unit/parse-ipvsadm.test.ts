// Unit tests for the ipvsadm state parsers: `-S -n` rule text, the command simulator,
// `-L -n --thresholds`, connection counts, timeouts and sync daemons.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { IpvsTable } from "../../src/model/model.js";
import { renderIpvsadmRules } from "../../src/render/render-ipvsadm-rules.js";
import { applyIpvsadmCommands, parseIpvsadmCommands, parseIpvsadmSave } from "../../src/state/parse-ipvsadm-save.js";
import { parseIpvsadmConnections, parseIpvsadmDaemon, parseIpvsadmThresholdListing, parseIpvsadmTimeouts } from "../../src/state/parse-ipvsadm-extras.js";
import { applyThresholds, parseIpvsadmThresholds } from "../../src/state/parse-ipvsadm-thresholds.js";
import { parseLiveState } from "../../src/state/parse-live-state.js";

/** Parses text that must be free of issues. */
function tableOf(text: string): IpvsTable {
  const { table, issues } = parseIpvsadmSave(text);
  assert.deepEqual(issues, []);
  return table;
}

/** Parses one bad line and returns the single issue's message. */
function issueOf(text: string): string {
  const { issues } = parseIpvsadmSave(text);
  assert.equal(issues.length, 1, JSON.stringify(issues));
  const issue = issues[0]!;
  assert.equal(issue.severity, "error");
  return issue.message;
}

// real ipvsadm 1.31 output, from reference/ipvsadm.md (ipvsadm's own order)
const REAL_OUTPUT = `-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -m -w 5
-a -t 10.0.0.1:80 -r 192.168.1.11:80 -g -w 1
-a -t 10.0.0.1:80 -r 192.168.1.12:80 -i -w 1 --tun-type ipip
-A -t 10.0.0.4:0 -s mh -p 360 -b mh-port
-A -u 10.0.0.2:53 -s sh -o -b sh-fallback,sh-port
-A -t [2001:db8::80]:80 -s wrr -p 30 -M 64
-a -t [2001:db8::80]:80 -r 192.168.1.50:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum
-A -f 8 -6 -s nq -p 100 -M 48
-a -f 8 -6 -r [2001:db8::1]:0 -i -w 1 --tun-type gre --tun-csum
`;

describe("parseIpvsadmSave: real ipvsadm output", () => {
  test("the reference example becomes the model, sorted numerically", () => {
    const table = tableOf(REAL_OUTPUT);
    assert.deepEqual(table, {
      services: [
        {
          key: { kind: "addr", protocol: "tcp", address: "10.0.0.1", port: 80 }, family: "inet", scheduler: "wlc", flags: [], onePacket: false,
          realServers: [
            { address: "192.168.1.10", port: 8080, forwarding: "nat", weight: 5, upperThreshold: 0, lowerThreshold: 0 },
            { address: "192.168.1.11", port: 80, forwarding: "dr", weight: 1, upperThreshold: 0, lowerThreshold: 0 },
            { address: "192.168.1.12", port: 80, forwarding: "tunnel", weight: 1, upperThreshold: 0, lowerThreshold: 0, tunnel: { type: "ipip" } },
          ],
        },
        {
          key: { kind: "addr", protocol: "udp", address: "10.0.0.2", port: 53 }, family: "inet", scheduler: "sh", flags: ["sh-fallback", "sh-port"], onePacket: true,
          realServers: [],
        },
        {
          key: { kind: "addr", protocol: "tcp", address: "10.0.0.4", port: 0 }, family: "inet", scheduler: "mh", flags: ["mh-port"], onePacket: false,
          persistence: { timeout: 360, prefixLength: 32 }, realServers: [],
        },
        {
          key: { kind: "addr", protocol: "tcp", address: "2001:db8::80", port: 80 }, family: "inet6", scheduler: "wrr", flags: [], onePacket: false,
          persistence: { timeout: 30, prefixLength: 64 },
          realServers: [
            { address: "192.168.1.50", port: 80, forwarding: "tunnel", weight: 1, upperThreshold: 0, lowerThreshold: 0, tunnel: { type: "gue", port: 6080, checksum: "remcsum" } },
          ],
        },
        {
          key: { kind: "fwmark", fwmark: 8, family: "inet6" }, family: "inet6", scheduler: "nq", flags: [], onePacket: false,
          persistence: { timeout: 100, prefixLength: 48 },
          realServers: [
            { address: "2001:db8::1", port: 0, forwarding: "tunnel", weight: 1, upperThreshold: 0, lowerThreshold: 0, tunnel: { type: "gre", checksum: "csum" } },
          ],
        },
      ],
    });
  });

  test("re-rendering gives the same lines in numeric order", () => {
    const text = renderIpvsadmRules(tableOf(REAL_OUTPUT));
    assert.deepEqual(text.split("\n").sort(), REAL_OUTPUT.split("\n").sort());
    assert.match(text, /^-A -t 10\.0\.0\.1:80 .*\n(-a .*\n){3}-A -u 10\.0\.0\.2:53/);
  });

  test("ipvsadm's non-numeric order (200.0.0.1 before 10.0.0.1) is re-sorted", () => {
    const table = tableOf(
      "-A -t 200.0.0.1:80 -s rr\n-a -t 200.0.0.1:80 -r 192.0.2.200:80 -g -w 1\n-a -t 200.0.0.1:80 -r 192.0.2.3:80 -g -w 1\n-A -t 10.0.0.1:80 -s rr\n",
    );
    assert.deepEqual(table.services.map((s) => s.key.kind === "addr" && s.key.address), ["10.0.0.1", "200.0.0.1"]);
    assert.deepEqual(table.services[1]!.realServers.map((r) => r.address), ["192.0.2.3", "192.0.2.200"]);
  });

  test("our own -x/-y thresholds are read back", () => {
    const [s] = tableOf("-A -t 203.0.113.1:80 -s wlc\n-a -t 203.0.113.1:80 -r 192.0.2.1:80 -m -w 2 -x 100 -y 40\n").services;
    assert.deepEqual(s!.realServers[0], { address: "192.0.2.1", port: 80, forwarding: "nat", weight: 2, upperThreshold: 100, lowerThreshold: 40 });
  });
});

describe("parseIpvsadmSave: long options, defaults, canonical forms", () => {
  test("long option forms ipvsadm accepts", () => {
    const table = tableOf([
      "--add-service --tcp-service 203.0.113.1:80 --scheduler rr --persistent 60 --netmask 255.255.0.0 --sched-flags flag-2",
      "--add-server --tcp-service 203.0.113.1:80 --real-server 192.0.2.1:8080 --masquerading --weight 3 --u-threshold 10 --l-threshold 5",
      "--add-server --tcp-service 203.0.113.1:80 --real-server 192.0.2.2:80 --gatewaying",
      "--add-server --tcp-service 203.0.113.1:80 --real-server 192.0.2.3:80 --ipip --tun-type=gue --tun-port=6080 --tun-csum",
      "--add-service --udp-service 203.0.113.1:5060 --scheduler=sh --persistent=120 --pe sip --ops",
      "--add-service --sctp-service 203.0.113.1:3868",
      "--add-service --fwmark-service 5 --ipv6 --scheduler fo",
    ].join("\n"));
    const [tcp, udp, sctp, fw] = table.services;
    assert.deepEqual(tcp!.persistence, { timeout: 60, prefixLength: 16 });
    assert.deepEqual([tcp!.scheduler, tcp!.flags], ["rr", ["flag-2"]]);
    assert.deepEqual(tcp!.realServers.map((r) => [r.forwarding, r.port, r.weight, r.upperThreshold, r.lowerThreshold]), [
      ["nat", 8080, 3, 10, 5], ["dr", 80, 1, 0, 0], ["tunnel", 80, 1, 0, 0],
    ]);
    assert.deepEqual(tcp!.realServers[2]!.tunnel, { type: "gue", port: 6080, checksum: "csum" });
    assert.deepEqual([udp!.scheduler, udp!.persistence, udp!.persistenceEngine, udp!.onePacket], ["sh", { timeout: 120, prefixLength: 32 }, "sip", true]);
    assert.deepEqual(sctp!.key, { kind: "addr", protocol: "sctp", address: "203.0.113.1", port: 3868 });
    assert.deepEqual([fw!.key, fw!.family, fw!.scheduler], [{ kind: "fwmark", fwmark: 5, family: "inet6" }, "inet6", "fo"]);
  });

  test("defaults are filled in as the kernel would", () => {
    const table = tableOf([
      "-A -t 203.0.113.1:80",
      "-a -t 203.0.113.1:80 -r 192.0.2.1",
      "-a -t 203.0.113.1:80 -r 192.0.2.2:9999 -i",
      "-A -u 203.0.113.1:53 -p",
      "-A -u 203.0.113.2:53 -p -M 255.255.255.0",
      "-A -t 203.0.113.1 -p 5",
    ].join("\n"));
    const byPort = (p: number) => table.services.find((s) => s.key.kind === "addr" && s.key.port === p && s.key.address === "203.0.113.1")!;
    assert.equal(byPort(80).scheduler, "wlc");
    assert.deepEqual(byPort(80).realServers, [
      // no port: the service port; no -w: 1; no forwarding flag: direct routing
      { address: "192.0.2.1", port: 80, forwarding: "dr", weight: 1, upperThreshold: 0, lowerThreshold: 0 },
      // tunnel servers get the service port, whatever was written; -i alone is ipip
      { address: "192.0.2.2", port: 80, forwarding: "tunnel", weight: 1, upperThreshold: 0, lowerThreshold: 0, tunnel: { type: "ipip" } },
    ]);
    assert.deepEqual(byPort(53).persistence, { timeout: 360, prefixLength: 32 });
    assert.deepEqual(table.services.find((s) => s.key.kind === "addr" && s.key.address === "203.0.113.2")!.persistence, { timeout: 360, prefixLength: 24 });
    assert.deepEqual(byPort(0).persistence, { timeout: 5, prefixLength: 32 });
  });

  test("addresses, flags and checksum modes come out canonical", () => {
    const table = tableOf([
      "-A -t [2001:DB8:0:0::0A]:443 -s sh -b sh-port,flag-1,sh-port",
      "-a -t [2001:DB8:0:0::0A]:443 -r [2001:0db8::0b]:443 -m",
      "-a -t [2001:DB8:0:0::0A]:443 -r 192.0.2.9 -i --tun-type gue --tun-port 6080 --tun-nocsum",
    ].join("\n"));
    const [s] = table.services;
    assert.deepEqual(s!.key, { kind: "addr", protocol: "tcp", address: "2001:db8::a", port: 443 });
    assert.deepEqual(s!.flags, ["sh-fallback", "sh-port"]);
    assert.equal(s!.realServers[1]!.address, "2001:db8::b");
    // nocsum is the kernel default and stays implicit in the model
    assert.deepEqual(s!.realServers[0]!.tunnel, { type: "gue", port: 6080 });
  });

  test("ipvsadm's quirks: `ipvsadm` tokens dropped, blank lines and CRLF tolerated", () => {
    const table = tableOf("\nipvsadm -A -t 203.0.113.1:80 -s rr\r\n   \n\t-a ipvsadm -t 203.0.113.1:80 -r 192.0.2.1:80 -m -w 2\r\n\n");
    assert.equal(table.services.length, 1);
    assert.equal(table.services[0]!.realServers[0]!.weight, 2);
  });

  test("attached short option values (-srr, -w5) as popt reads them", () => {
    const [s] = tableOf("-A -t 203.0.113.1:80 -srr -p30\n-a -t 203.0.113.1:80 -r 192.0.2.1:80 -m -w5\n").services;
    assert.deepEqual([s!.scheduler, s!.persistence?.timeout, s!.realServers[0]!.weight], ["rr", 30, 5]);
  });
});

describe("parseIpvsadmSave: bad lines become issues", () => {
  test("an issue names the line number and the token, the line is skipped and the rest parsed", () => {
    const { table, issues } = parseIpvsadmSave("-A -t 203.0.113.1:80 -s rr\n-A -t 203.0.113.2:80 -s roundrobin\n-A -t 203.0.113.3:80\n");
    assert.equal(issues.length, 1);
    assert.deepEqual(issues[0]!.path, ["line", 2]);
    assert.equal(issues[0]!.code, "invalid-value");
    assert.match(issues[0]!.message, /^line 2: .*'roundrobin'/);
    assert.equal(table.services.length, 2);
  });

  test("syntax errors", () => {
    assert.match(issueOf("-A -t 203.0.113.1:80 --frobnicate"), /line 1: '--frobnicate' is not an ipvsadm option/);
    assert.match(issueOf("-A -t 203.0.113.1:80 -s"), /'-s' needs a value/);
    assert.match(issueOf("-t 203.0.113.1:80 -A"), /'-t' is not an ipvsadm command/);
    assert.match(issueOf("# saved by hand"), /comments are not supported/);
    assert.match(issueOf("-A -t 203.0.113.1:80 stray"), /unexpected argument 'stray'/);
    assert.match(issueOf("-A -t 203.0.113.1:80 -s rr -s wlc"), /option -s given twice/);
    assert.match(issueOf("-A -t 203.0.113.1:80 -u 203.0.113.1:53"), /more than one service/);
    assert.match(issueOf("-A -s rr"), /no service given/);
    assert.match(issueOf("-A -t 203.0.113.1:80 -w 3"), /'-w' is not allowed with add-service/);
    assert.match(issueOf("-A -t 203.0.113.1:80 -A"), /more than one command/);
  });

  test("addresses and numbers", () => {
    assert.match(issueOf("-A -t 203.0.113.1:http -s rr"), /port 'http' .* is not a number/);
    assert.match(issueOf("-A -t www.example.org:80"), /'www.example.org' in 'www.example.org:80' is not an IP address/);
    assert.match(issueOf("-A -t 203.0.113.1:70000"), /port 70000 .* out of range/);
    assert.match(issueOf("-A -t [2001:db8::1]"), /'\[2001:db8::1\]' is not an \[IPv6\]:port address/);
    assert.match(issueOf("-A -f 0"), /fwmark 0 .* out of range/);
    const neg = parseIpvsadmSave("-A -f -5 -s rr").issues[0]!;
    assert.match(neg.message, /fwmark -5 after '-f' is negative/);
    assert.match(neg.hint ?? "", /above 2147483647/);
    assert.match(issueOf("-A -t 203.0.113.1:80 -p 0"), /persistence timeout 0 .* out of range 1..2678400/);
    assert.match(issueOf("-A -t 203.0.113.1:80 -p 30 -M 255.0.255.0"), /not a contiguous IPv4 netmask/);
    assert.match(issueOf("-A -t [2001:db8::1]:80 -p 30 -M 129"), /IPv6 netmask 129 .* out of range/);
    assert.match(issueOf("-A -t 203.0.113.1:80 -6"), /only applies to fwmark services/);
  });

  test("service rules of ipvsadm and the kernel", () => {
    assert.match(issueOf("-A -t 203.0.113.1:80 -o"), /one-packet scheduling \(-o\) is only for UDP and fwmark services/);
    assert.match(issueOf("-A -t 203.0.113.1:0 -s rr"), /zero port specified for a non-persistent service/);
    assert.match(issueOf("-A -t 203.0.113.1:80 -s rr -b sh-port"), /'sh-port' does not go with scheduler rr/);
    assert.match(issueOf("-A -t 203.0.113.1:80 -b mh-fallback"), /'mh-fallback' does not go with scheduler wlc/);
    assert.match(issueOf("-A -t 203.0.113.1:80 -s sh -b sh-everything"), /invalid scheduler flag 'sh-everything'/);
    assert.match(issueOf("-A -u 203.0.113.1:5060 -p --pe http"), /unknown persistence engine 'http'/);
  });

  test("real-server rules of ipvsadm and the kernel", () => {
    const svc = "-A -t 203.0.113.1:80 -s rr\n";
    const bad = (line: string) => {
      const { issues } = parseIpvsadmSave(svc + line);
      assert.equal(issues.length, 1, JSON.stringify(issues));
      assert.deepEqual(issues[0]!.path, ["line", 2]);
      return issues[0]!.message;
    };
    assert.match(bad("-a -t 203.0.113.1:80 -r 192.0.2.1:80 -w 70000000000"), /weight 70000000000 .* out of range 0..2147483647/);
    assert.match(bad("-a -t 203.0.113.1:80 -r 192.0.2.1:80 -x 5 -y 6"), /lower threshold 6 is above upper threshold 5/);
    assert.match(bad("-a -t 203.0.113.1:80 -r [2001:db8::1]:80 -m"), /not of the service's address family/);
    assert.match(bad("-a -t 203.0.113.1:80 -r 192.0.2.1:80 -m -g"), /-g and -m conflict/);
    assert.match(bad("-a -t 203.0.113.1:80 -r 192.0.2.1:80 -g --tun-type ipip"), /'--tun-type' needs tunnel forwarding/);
    assert.match(bad("-a -t 203.0.113.1:80 -r 192.0.2.1:80 -i --tun-type gue"), /gue needs --tun-port/);
    assert.match(bad("-a -t 203.0.113.1:80 -r 192.0.2.1:80 -i --tun-type ipip --tun-csum"), /--tun-csum is not allowed with tunnel type ipip/);
    assert.match(bad("-a -t 203.0.113.1:80 -r 192.0.2.1:80 -i --tun-type gre --tun-remcsum"), /--tun-remcsum is not allowed with tunnel type gre/);
    assert.match(bad("-a -t 203.0.113.1:80 -r 192.0.2.1:80 -i --tun-type gre --tun-port 9"), /--tun-port is not allowed with tunnel type gre/);
    assert.match(bad("-a -t 203.0.113.1:80 -r 192.0.2.1:80 -i --tun-type vxlan"), /unknown tunnel type 'vxlan'/);
    assert.match(bad("-a -t 203.0.113.1:80 -r 192.0.2.1:80 -i --tun-type gue --tun-port 1 --tun-csum --tun-remcsum"), /--tun-csum and --tun-remcsum conflict/);
    assert.match(bad("-a -t 203.0.113.1:80"), /no real server given/);
    assert.match(bad("-a -t 203.0.113.1:80 -r 192.0.2.1:80 -s rr"), /'-s' is not allowed with add-server/);
  });

  test("kernel errors of a replay: missing services, duplicates", () => {
    const { table, issues } = parseIpvsadmSave([
      "-A -t 203.0.113.1:80 -s rr",
      "-a -t 203.0.113.9:80 -r 192.0.2.1:80",
      "-A -t 203.0.113.1:80 -s wlc",
      "-a -t 203.0.113.1:80 -r 192.0.2.1:80",
      "-a -t 203.0.113.1:80 -r 192.0.2.1:8080 -g",
    ].join("\n"));
    assert.deepEqual(issues.map((i) => [i.code, i.path[1]]), [["invalid-value", 2], ["duplicate-service", 3], ["duplicate-real-server", 5]]);
    assert.match(issues[0]!.message, /service tcp\/203.0.113.9:80 not defined/);
    assert.equal(table.services[0]!.scheduler, "rr");
    assert.equal(table.services[0]!.realServers.length, 1);
  });
});

describe("applyIpvsadmCommands: planner batches", () => {
  const live = tableOf([
    "-A -t 203.0.113.1:80 -s rr",
    "-a -t 203.0.113.1:80 -r 192.0.2.1:80 -m -w 3",
    "-a -t 203.0.113.1:80 -r 192.0.2.2:80 -m -w 3",
    "-A -u 203.0.113.1:53 -s rr",
  ].join("\n"));

  test("-E keeps the real servers, -e replaces a server, -d and -D delete, the input is not touched", () => {
    const before = JSON.stringify(live);
    const { commands, issues: parseIssues } = parseIpvsadmCommands([
      "-E -t 203.0.113.1:80 -s wrr -p 60",
      "-e -t 203.0.113.1:80 -r 192.0.2.1:80 -m -w 0",
      "-d -t 203.0.113.1:80 -r 192.0.2.2:80",
      "-D -u 203.0.113.1:53",
    ].join("\n"));
    assert.deepEqual(parseIssues, []);
    const { table, issues } = applyIpvsadmCommands(live, commands);
    assert.deepEqual(issues, []);
    assert.equal(renderIpvsadmRules(table), "-A -t 203.0.113.1:80 -s wrr -p 60\n-a -t 203.0.113.1:80 -r 192.0.2.1:80 -m -w 0\n");
    assert.equal(JSON.stringify(live), before);
  });

  test("edits and deletes of what does not exist are reported; -C clears", () => {
    const { commands } = parseIpvsadmCommands("-e -t 203.0.113.1:80 -r 192.0.2.7:80 -m\n-D -t 203.0.113.7:80\n-C\n");
    const { table, issues } = applyIpvsadmCommands(live, commands);
    assert.deepEqual(issues.map((i) => i.message), [
      "line 1: no such real server 192.0.2.7:80 in tcp/203.0.113.1:80",
      "line 2: no such service tcp/203.0.113.7:80",
    ]);
    assert.deepEqual(table, { services: [] });
  });
});

// the format of ipvsadm 1.31's print_title/print_service_entry with FMT_THRESHOLDS
const THRESHOLDS = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn
  -> RemoteAddress:Port
TCP  10.0.0.1:80 wlc
  -> 192.168.1.10:8080            5          2          7          1
  -> 192.168.1.11:80              0          0          0          0
UDP  10.0.0.2:53 sh (sh-fallback,sh-port) ops
FWM  8 IPv6 nq persistent 100 mask 48
  -> [2001:DB8::1]:0              100        50         3          4
`;

describe("-L -n listings", () => {
  test("thresholds by service and real server", () => {
    const { thresholds, issues } = parseIpvsadmThresholds(THRESHOLDS);
    assert.deepEqual(issues, []);
    assert.deepEqual(thresholds.get("tcp/10.0.0.1:80")?.get("192.168.1.10:8080"), { upper: 5, lower: 2 });
    assert.deepEqual(thresholds.get("tcp/10.0.0.1:80")?.get("192.168.1.11:80"), { upper: 0, lower: 0 });
    assert.equal(thresholds.get("udp/10.0.0.2:53")?.size, 0);
    assert.deepEqual(thresholds.get("fwmark/inet6/8")?.get("[2001:db8::1]:0"), { upper: 100, lower: 50 });
  });

  test("applyThresholds completes a table read with -S, which never saves them", () => {
    const saved = tableOf(REAL_OUTPUT);
    const before = JSON.stringify(saved);
    const full = applyThresholds(saved, parseIpvsadmThresholds(THRESHOLDS).thresholds);
    const rs = full.services[0]!.realServers.find((r) => r.port === 8080)!;
    assert.deepEqual([rs.upperThreshold, rs.lowerThreshold], [5, 2]);
    const fw = full.services.find((s) => s.key.kind === "fwmark")!.realServers[0]!;
    assert.deepEqual([fw.upperThreshold, fw.lowerThreshold], [100, 50]);
    assert.equal(JSON.stringify(saved), before);
    assert.match(renderIpvsadmRules(full), /-r 192\.168\.1\.10:8080 -m -w 5 -x 5 -y 2\n/);
  });

  test("connection counts from the plain listing and from the thresholds listing", () => {
    const plain = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  203.0.113.1:80 wlc persistent 360
  -> 192.0.2.1:80                 Route   1      12         30
  -> 192.0.2.2:8080               Masq    0      0          2
SCTP 203.0.113.1:3868 rr
  -> 192.0.2.3:3868               Tunnel  1      1          0
`;
    const { connections, issues } = parseIpvsadmConnections(plain);
    assert.deepEqual(issues, []);
    assert.deepEqual(connections.get("tcp/203.0.113.1:80")?.get("192.0.2.1:80"), { activeConn: 12, inactConn: 30 });
    assert.deepEqual(connections.get("tcp/203.0.113.1:80")?.get("192.0.2.2:8080"), { activeConn: 0, inactConn: 2 });
    assert.deepEqual(connections.get("sctp/203.0.113.1:3868")?.get("192.0.2.3:3868"), { activeConn: 1, inactConn: 0 });
    assert.deepEqual(parseIpvsadmConnections(THRESHOLDS).connections.get("tcp/10.0.0.1:80")?.get("192.168.1.10:8080"), { activeConn: 7, inactConn: 1 });
  });

  test("one pass over the thresholds listing gives the thresholds and the connection counts", () => {
    const both = parseIpvsadmThresholdListing(THRESHOLDS);
    assert.deepEqual(both.issues, []);
    assert.deepEqual(both.thresholds, parseIpvsadmThresholds(THRESHOLDS).thresholds);
    assert.deepEqual(both.connections, parseIpvsadmConnections(THRESHOLDS).connections);
    // an unreadable line: the two separate readers take over and report it
    const bad = "Prot LocalAddress:Port Uthreshold Lthreshold ActiveConn InActConn\nTCP  web.example:http\n";
    assert.deepEqual(parseIpvsadmThresholdListing(bad).issues.map((i) => i.path), [["line", 2], ["line", 2]]);
  });

  test("parseLiveState takes the counts from the thresholds listing, or from an older dump's plain listing", () => {
    const save = "-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -m -w 1";
    const listing = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Uthreshold Lthreshold ActiveConn InActConn\n  -> RemoteAddress:Port\nTCP  10.0.0.1:80\n  -> 192.168.1.10:8080 5 2 7 1";
    const plainList = "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nTCP  10.0.0.1:80 wlc\n  -> 192.168.1.10:8080 Masq 1 9 4";
    const dumpOf = (extra: string[]) => ["==ipvsc:save==", save, "==ipvsc:thresholds==", listing, ...extra,
      "==ipvsc:timeouts==", "Timeout (tcp tcpfin udp): 900 120 300", "==ipvsc:end==", ""].join("\n");
    const now = parseLiveState("lb1", dumpOf([]));
    assert.deepEqual(now.issues, []);
    assert.deepEqual(now.connections.get("tcp/10.0.0.1:80")?.get("192.168.1.10:8080"), { activeConn: 7, inactConn: 1 });
    const rs = now.table.services[0]!.realServers[0]!;
    assert.deepEqual([rs.upperThreshold, rs.lowerThreshold], [5, 2]);
    const old = parseLiveState("lb1", dumpOf(["==ipvsc:list==", plainList]));
    assert.deepEqual(old.issues, []);
    assert.deepEqual(old.connections.get("tcp/10.0.0.1:80")?.get("192.168.1.10:8080"), { activeConn: 9, inactConn: 4 });
    assert.deepEqual(old.table, now.table);
  });

  test("unreadable listing lines are issues with line numbers", () => {
    const { issues } = parseIpvsadmThresholds("Prot LocalAddress:Port Uthreshold Lthreshold ActiveConn InActConn\n  -> 192.0.2.1:80 1 0 0 0\nTCP  web.example:http wlc\n");
    assert.deepEqual(issues.map((i) => i.path), [["line", 2], ["line", 3]]);
    assert.match(issues[1]!.message, /'web.example:http' is not an address:port/);
  });
});

describe("timeouts and sync daemons", () => {
  test("ipvsadm -L --timeout", () => {
    assert.deepEqual(parseIpvsadmTimeouts("Timeout (tcp tcpfin udp): 900 120 300\n"), { timeouts: { tcp: 900, tcpFin: 120, udp: 300 }, issues: [] });
    const bad = parseIpvsadmTimeouts("Can't initialize ipvs\n");
    assert.equal(bad.timeouts, undefined);
    assert.match(bad.issues[0]!.message, /Can't initialize ipvs/);
  });

  test("ipvsadm -L --daemon: none, one, or both with the optional fields", () => {
    assert.deepEqual(parseIpvsadmDaemon(""), { daemons: [], issues: [] });
    const { daemons, issues } = parseIpvsadmDaemon(
      "master sync daemon (mcast=eth1, syncid=7)\nbackup sync daemon (mcast=eth1, syncid=7, maxlen=1472, group=FF02::1:2, port=8848, ttl=2)\n",
    );
    assert.deepEqual(issues, []);
    assert.deepEqual(daemons, [
      { state: "master", interface: "eth1", syncId: 7 },
      { state: "backup", interface: "eth1", syncId: 7, maxlen: 1472, group: "ff02::1:2", port: 8848, ttl: 2 },
    ]);
    assert.match(parseIpvsadmDaemon("slave sync daemon (mcast=eth0)\n").issues[0]!.message, /line 1: not a sync daemon line/);
  });
});
