/**
 * The digest read (issue #17, point 3) on the host: the real read-state script under sh and
 * busybox sh, with a stand-in ipvsadm that lists a table as the kernel does (`-S -n` without
 * thresholds, `-L -n --thresholds` in the same order). For random desired tables and random
 * live changes (weights, thresholds, servers and services gone, foreign services), the
 * digest read gives the same table and the same plan (fingerprint included) as the full
 * read, and prints in full only what differs.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { DIGESTS_MARKER, READ_STATE_SCRIPT } from "../../src/apply-script/scripts.sh.js";
import { compile } from "../../src/compile.js";
import { formatAddressPort } from "../../src/model/addresses.js";
import type { IpvsService } from "../../src/model/model.js";
import { planDirector } from "../../src/plan/compute-plan.js";
import { renderRealServerCommand, renderServiceCommand } from "../../src/render/render-ipvsadm-rules.js";
import { digestRequest } from "../../src/state/digest-read.js";
import { splitSections } from "../../src/state/live-state.js";
import { parseLiveState } from "../../src/state/parse-live-state.js";
import { arbSpecCase, FC_SEED } from "../support/arbitraries.js";
import { arbLiveChanges } from "../support/live-changes.js";

const work = mkdtempSync(join(tmpdir(), "ipvsc-digest-"));
after(() => rmSync(work, { recursive: true, force: true }));
const STATE = join(work, "state");
mkdirSync(join(STATE, "owners"), { recursive: true });
const SCRIPT = READ_STATE_SCRIPT.replace("STATE=/var/lib/ipvsc", `STATE=${STATE}`);

/** `ipvsadm -S -n` (no thresholds) and `-L -n --thresholds` of the services, in this order. */
function kernelListings(services: readonly IpvsService[]): { save: string; listing: string } {
  const save: string[] = [];
  const listing = ["IP Virtual Server version 1.2.1 (size=4096)", "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn", "  -> RemoteAddress:Port"];
  let n = 3;
  for (const s of services) {
    save.push(renderServiceCommand("-A", s));
    const k = s.key;
    listing.push(k.kind === "fwmark" ? `FWM  ${k.fwmark}${k.family === "inet6" ? " IPv6" : ""} ${s.scheduler}` : `${k.protocol.toUpperCase()}  ${formatAddressPort(k.address, k.port)} ${s.scheduler}`);
    for (const rs of s.realServers) {
      save.push(renderRealServerCommand("-a", s, rs).replace(/ -x \d+ -y \d+/, ""));
      n = (n * 31 + 7) % 1000;
      listing.push(`  -> ${formatAddressPort(rs.address, rs.port).padEnd(28)} ${String(rs.upperThreshold).padEnd(10)} ${String(rs.lowerThreshold).padEnd(10)} ${String(n).padEnd(10)} ${n % 17}`);
    }
  }
  return { save: save.length ? `${save.join("\n")}\n` : "", listing: `${listing.join("\n")}\n` };
}

interface Shell { name: string; bin: string; sh: string[] }
const SHELLS: Shell[] = [{ name: "sh", bin: "", sh: ["/bin/sh"] }];
const busybox = ["/usr/bin/busybox", "/bin/busybox"].find((p) => existsSync(p));
if (busybox) {
  const bin = join(work, "busybox-bin");
  mkdirSync(bin);
  for (const applet of ["awk", "sh", "cat", "sort", "sha256sum", "cut", "tr", "mktemp", "rm", "mkdir", "mv"]) symlinkSync(busybox, join(bin, applet));
  SHELLS.push({ name: "busybox sh + applets", bin, sh: [join(bin, "sh")] });
}

let seq = 0;
/** The trace (IPVSC_TRACE=1, on stderr) of the last readState. */
let lastTrace = "";
/** Runs read-state.sh (full, or a digest read of `digests`) against a stand-in ipvsadm listing `services`. */
function readState(shell: Shell, services: readonly IpvsService[], digests?: string, script0 = SCRIPT): string {
  const dir = join(work, `case-${++seq}`);
  mkdirSync(join(dir, "bin"), { recursive: true });
  const { save, listing } = kernelListings(services);
  writeFileSync(join(dir, "save"), save);
  writeFileSync(join(dir, "listing"), listing);
  writeFileSync(join(dir, "bin", "ipvsadm"), `#!/bin/sh\ncase "$*" in\n  "-S -n") cat "${dir}/save" ;;\n  "-L -n --thresholds") cat "${dir}/listing" ;;\n  "-L --timeout") echo "Timeout (tcp tcpfin udp): 900 120 300" ;;\n  *) ;;\nesac\n`, { mode: 0o755 });
  const script = join(dir, "read-state.sh");
  writeFileSync(script, digests === undefined ? script0 : `${script0}${DIGESTS_MARKER}\n${digests}`);
  const args = [script, join(dir, "keepalived"), ...(digests === undefined ? [] : [script])];
  const path = [join(dir, "bin"), ...(shell.bin ? [shell.bin] : []), process.env.PATH ?? "/usr/bin:/bin"].join(":");
  const r = spawnSync(shell.sh[0]!, args, { encoding: "utf8", env: { PATH: path, IPVSC_TRACE: "1" }, timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  lastTrace = r.stderr;
  return r.stdout;
}

describe("the digest read gives the full read's table and plan", () => {
  for (const shell of SHELLS) {
    test(`${shell.name}: random tables and changes`, () => {
      fc.assert(fc.property(arbSpecCase({ maxServices: 5, maxRealServers: 4 }).chain((c) => {
        const r = compile(c.spec);
        if (!r.ok) throw new Error(JSON.stringify(r.issues.slice(0, 2)));
        const d = r.output.directors[0]!;
        const model = r.output.model.directors.find((m) => m.name === d.name)!;
        return fc.tuple(fc.constant({ model, rules: d.ipvsadmRules, keepalivedConf: d.keepalivedConf }), arbLiveChanges(model.table));
      }), ([desired, live]) => {
        const expected = { table: desired.model.table, rules: desired.rules };
        const request = digestRequest(expected);
        const full = parseLiveState("lb1", readState(shell, live), { expected });
        rmSync(join(STATE, "kept-digests"), { force: true });
        const dump = readState(shell, live, request.text);
        if (live.length > 0) assert.match(lastTrace, /read-state: digests \(joined and hashed\)/);
        // the same table read again: the digests the first read kept, and the same table
        const again = readState(shell, live, request.text);
        if (live.length > 0) assert.match(lastTrace, /read-state: digests \(kept\)/);
        const fromKept = parseLiveState("lb1", again, { expected, digests: request });
        assert.deepEqual(fromKept.table, full.table);
        assert.deepEqual(fromKept.issues, full.issues);
        assert.equal(splitSections(again).same, splitSections(dump).same);
        const digest = parseLiveState("lb1", dump, { expected, digests: request });
        assert.deepEqual(digest.issues, full.issues);
        assert.deepEqual(digest.table, full.table);
        assert.equal(digest.fingerprint, full.fingerprint);
        const forPlan = { model: desired.model, keepalivedConf: desired.keepalivedConf, ipvsadmRules: desired.rules };
        assert.deepEqual(planDirector(forPlan, digest, { owner: "ipvsc" }), planDirector(forPlan, full, { owner: "ipvsc" }));
        // what was printed in full: exactly the live services that are not as desired
        const sec = splitSections(dump);
        assert.notEqual(sec.same, undefined, "the digest read answered in full");
        const wanted = new Map(desired.model.table.services.map((s) => [JSON.stringify(s.key), s]));
        const printed = (sec.save ?? "").split("\n").filter((l) => l.startsWith("-A ")).length;
        const changed = live.filter((s) => {
          const w = wanted.get(JSON.stringify(s.key));
          return !w || JSON.stringify(w) !== JSON.stringify(s);
        }).length;
        assert.equal(printed, changed, dump);
      }), { seed: FC_SEED, numRuns: shell.name === "sh" ? 25 : 10 });
    });
  }

  test("the kept digests serve only the table they were computed from", () => {
    const r = compile({ directors: [{ name: "lb1", interfaces: ["eth0"] }], services: [1, 2, 3].map((n) => ({ name: `s${n}`, protocol: "tcp" as const, address: `203.0.113.${n}`, port: 80, pool: { servers: [{ address: "192.0.2.1" }, { address: "192.0.2.2", weight: n }] } })) });
    assert.ok(r.ok);
    const table = r.output.model.directors[0]!.table;
    const request = digestRequest({ table, rules: r.output.directors[0]!.ipvsadmRules });
    const shell = SHELLS[0]!;
    const kept = join(STATE, "kept-digests");
    const asDesired = readState(shell, table.services, request.text);
    assert.match(asDesired, /==ipvsc:same==\n1\n2\n3\n==ipvsc:save==\n==ipvsc:thresholds==/);
    const keptText = readFileSync(kept, "utf8");
    assert.equal(keptText.split("\n").length, 5, "the key and one digest per service");
    assert.deepEqual(keptText.split("\n").slice(1, 4), request.text.trim().split("\n"), "the digests the host computes, with their selectors");
    // a weight changed: the kept digests are for another table, so each service is hashed again
    const changed = table.services.map((s, i) => (i === 1 ? { ...s, realServers: s.realServers.map((rs) => ({ ...rs, weight: 9 })) } : s));
    const out = readState(shell, changed, request.text);
    assert.match(lastTrace, /digests \(joined and hashed\)/);
    assert.match(out, /==ipvsc:same==\n1\n3\n==ipvsc:save==\n-A -t 203\.0\.113\.2:80/);
    assert.notEqual(readFileSync(kept, "utf8"), keptText);
    // kept digests that lie about this very table are believed only for the count they hold:
    // a file cut short is not used
    readState(shell, table.services, request.text);
    writeFileSync(kept, readFileSync(kept, "utf8").split("\n").slice(0, 3).join("\n") + "\n");
    assert.equal(readState(shell, table.services, request.text), asDesired);
    assert.match(lastTrace, /digests \(joined and hashed\)/);
    // a state directory that cannot be written: every read hashes each service, same answer
    const unwritable = SCRIPT.replace(`STATE=${STATE}`, `STATE=${join(work, "a-file")}/state`);
    writeFileSync(join(work, "a-file"), "");
    for (let i = 0; i < 2; i++) {
      assert.equal(readState(shell, table.services, request.text, unwritable), asDesired);
      assert.match(lastTrace, /digests \(joined and hashed\)/);
    }
    assert.deepEqual(readdirSync(STATE).filter((f) => f.startsWith("kept-digests.")), [], "no half-written file left");
  });

  test("a table out of step with its listing (changed between the reads) is printed in full", () => {
    const r = compile({ directors: [{ name: "lb1", interfaces: ["eth0"] }], services: [{ name: "a", protocol: "tcp", address: "203.0.113.1", port: 80, pool: { servers: [{ address: "192.0.2.1" }] } }] });
    assert.ok(r.ok);
    const table = r.output.model.directors[0]!.table;
    const request = digestRequest({ table, rules: r.output.directors[0]!.ipvsadmRules });
    const dir = join(work, `skew-${++seq}`);
    const same = readState(SHELLS[0]!, table.services, request.text);
    assert.match(same, /==ipvsc:same==\n1\n==ipvsc:save==\n==ipvsc:thresholds==/);
    // the listing has a server the save lacks: no section same, both listings in full
    const { save } = kernelListings(table.services);
    const { listing } = kernelListings([{ ...table.services[0]!, realServers: [...table.services[0]!.realServers, { ...table.services[0]!.realServers[0]!, address: "192.0.2.99" }] }]);
    mkdirSync(join(dir, "bin"), { recursive: true });
    writeFileSync(join(dir, "bin", "ipvsadm"), `#!/bin/sh\ncase "$*" in\n  "-S -n") printf '%s' '${save}' ;;\n  "-L -n --thresholds") printf '%s' '${listing}' ;;\nesac\n`, { mode: 0o755 });
    const script = join(dir, "read-state.sh");
    writeFileSync(script, `${SCRIPT}${DIGESTS_MARKER}\n${request.text}`);
    const out = spawnSync("/bin/sh", [script, join(dir, "k"), script], { encoding: "utf8", env: { PATH: `${join(dir, "bin")}:${process.env.PATH}` } });
    assert.equal(out.status, 0, out.stderr);
    const sec = splitSections(out.stdout);
    assert.equal(sec.same, undefined);
    assert.equal(`${sec.save}\n`, save);
  });
});
