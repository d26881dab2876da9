/**
 * Round trip of the keepalived.conf importer (issue #16, point 5): for random valid specs
 * with health-checked services (pool checks, per-server checks and settings, quorum, alpha,
 * omega, ha_suspend; some as group services with a range and a fwmark) and VRRP instances (independent, in one group, in several
 * groups, with notify scripts, tracking weights outside groups), `import(render(spec))`
 * compiles to the same files: the same keepalived.conf byte for byte, and the same ipvsadm
 * rules for the services keepalived owns (the applier's services are not in keepalived.conf).
 * The import reports nothing: everything rendered is something the spec can say.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { compile, type CompileOutput } from "../../src/compile.js";
import { findingKey } from "../../src/import/import-findings.js";
import { importKeepalivedConf } from "../../src/import/import-keepalived-conf.js";
import { formatIssues, hasErrors } from "../../src/issues.js";
import { parseSpec } from "../../src/schema/parse-spec.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import { validate } from "../../src/validate/validate.js";
import { FC_SEED, arbSpecCase } from "../support/arbitraries.js";

type ServiceInput = SpecInput["services"][number];
type CheckInput = NonNullable<ServiceInput["pool"]["healthChecks"]>[number];

/** Checks that fit any service: a command, or (with a port to reach) tcp/http. */
function arbCheck(hasPort: boolean): fc.Arbitrary<CheckInput> {
  const command = fc.record({
    type: fc.constant("command" as const),
    command: fc.constantFrom(["/bin/true"], ["/usr/local/bin/check", "a-b", "42"]),
    timeout: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }),
    dynamic: fc.option(fc.constant(true), { nil: undefined }),
    retry: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
  }, { requiredKeys: ["type", "command"] }).map((c): CheckInput => ({ ...c, command: [...c.command] }));
  const port = fc.integer({ min: 1, max: 65535 });
  const tcp = fc.record({ type: fc.constant("tcp" as const), connectPort: port, delayBeforeRetry: fc.option(fc.constantFrom(1, 2.5), { nil: undefined }) }, { requiredKeys: ["type", "connectPort"] }).map((c): CheckInput => c);
  const http = fc.record({
    type: fc.constant("http" as const),
    connectPort: port,
  }).map((c): CheckInput => ({ ...c, urls: [{ path: "/healthz", statusCode: [200] }] }));
  return hasPort ? fc.oneof(command, tcp, http) : command;
}

interface Decoration {
  checks: CheckInput[];
  perServer: Array<{ checks?: CheckInput[]; inhibit?: boolean; alpha?: boolean; notifyUp?: boolean }>;
  inhibit: boolean;
  alpha: boolean;
  omega: boolean;
  haSuspend: boolean;
  quorumUp: boolean;
  /** make the service a group: itself plus a two-address range next to it, and maybe a fwmark */
  group: "no" | "range" | "range+fwmark";
}

function arbDecoration(servers: number, hasPort: boolean): fc.Arbitrary<Decoration> {
  return fc.record({
    checks: fc.array(arbCheck(hasPort), { minLength: 0, maxLength: 2 }),
    perServer: fc.array(fc.record({
      checks: fc.option(fc.array(arbCheck(hasPort), { maxLength: 2 }), { nil: undefined }),
      inhibit: fc.option(fc.boolean(), { nil: undefined }),
      alpha: fc.option(fc.boolean(), { nil: undefined }),
      notifyUp: fc.option(fc.constant(true), { nil: undefined }),
    }, { requiredKeys: [] }), { minLength: servers, maxLength: servers }),
    inhibit: fc.boolean(),
    alpha: fc.boolean(),
    omega: fc.boolean(),
    haSuspend: fc.boolean(),
    quorumUp: fc.boolean(),
    group: fc.constantFrom("no", "no", "range", "range+fwmark"),
  });
}

function decorate(s: ServiceInput, d: Decoration): void {
  const pool = s.pool;
  if (d.checks.length > 0) pool.healthChecks = d.checks;
  pool.servers.forEach((rs, j) => {
    const own = d.perServer[j] ?? {};
    if (own.checks !== undefined) rs.healthChecks = own.checks;
    if (own.inhibit !== undefined) rs.inhibitOnFailure = own.inhibit;
    if (own.alpha !== undefined) rs.alpha = own.alpha;
    if (own.notifyUp) rs.notifyUp = ["/usr/local/bin/up", rs.address.replace(/:/g, "-")];
  });
  if (d.inhibit) pool.inhibitOnFailure = true;
  if (d.alpha) pool.alpha = true;
  if (d.omega) pool.omega = true;
  if (d.haSuspend && s.fwmark === undefined) pool.haSuspend = true;
  if (d.quorumUp) pool.quorumUp = ["/usr/local/bin/quorum", "up"];
  if (d.group !== "no" && s.address !== undefined && s.port !== undefined && !s.address.includes(":")) {
    const last = Number(s.address.split(".")[3]);
    const members: NonNullable<ServiceInput["group"]>["members"] = [{ address: s.address, port: s.port }];
    // the next two addresses, when they stay inside the byte (validation refuses a clash with another service)
    if (last <= 252) members.push({ address: s.address.replace(/\.\d+$/, `.${last + 1}`), last: last + 2, port: s.port });
    if (d.group === "range+fwmark") members.push({ fwmark: 7000 + last });
    s.group = { members };
    delete s.address;
    delete s.port;
  }
}

type VrrpInput = NonNullable<SpecInput["vrrp"]>;

/** 0..3 instances on eth0 with distinct VRIDs and VIPs; groups: the default, none, or listed. */
const arbVrrp: fc.Arbitrary<VrrpInput | undefined> = fc
  .record({
    count: fc.integer({ min: 0, max: 3 }),
    groups: fc.constantFrom("default", "none", "listed"),
    notify: fc.boolean(),
    weights: fc.boolean(),
    nopreempt: fc.boolean(),
    garp: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
  })
  .map(({ count, groups, notify, weights, nopreempt, garp }) => {
    if (count === 0) return undefined;
    const instances: VrrpInput["instances"] = [];
    for (let k = 0; k < count; k++) {
      const inst: NonNullable<VrrpInput["instances"]>[number] = {
        name: `VI_${k + 1}`, interface: "eth0", virtualRouterId: 100 + k, vips: [`10.255.0.${100 + k}/32`],
      };
      if (k === 0 && nopreempt) inst.nopreempt = true;
      if (garp !== undefined) inst.garpMasterDelay = garp;
      if (notify) inst.notifyMaster = ["/usr/local/bin/notify", inst.name, "master"];
      instances.push(inst);
    }
    const vrrp: VrrpInput = { instances };
    const grouped = new Set<string>();
    if (groups === "none") vrrp.syncGroups = [];
    if (groups === "listed") {
      vrrp.syncGroups = count >= 2 ? [{ name: "G1", instances: ["VI_1", "VI_2"], ...(notify ? { notifyBackup: ["/usr/local/bin/g1", "backup"] } : {}) }] : [];
      if (count >= 2) ["VI_1", "VI_2"].forEach((n) => grouped.add(n));
    }
    if (groups === "default" && count >= 2) instances.forEach((i) => grouped.add(i.name));
    if (weights) {
      for (const inst of instances) if (!grouped.has(inst.name)) inst.trackInterfaces = [{ name: "eth1", weight: -10 }];
    }
    return vrrp;
  });

const arbCase = fc
  .tuple(arbSpecCase({ maxServices: 4 }), arbVrrp)
  .chain(([c, vrrp]) => {
    const spec: SpecInput = { ...c.spec, directors: [{ name: "lb1", interfaces: ["eth0", "eth1"] }] };
    spec.services = spec.services.filter((s) => s.directors === undefined || s.directors.includes("lb1")).map((s) => {
      const copy = structuredClone(s);
      delete copy.directors;
      return copy;
    });
    if (vrrp) spec.vrrp = vrrp;
    else delete spec.vrrp;
    const decorations = spec.services.map((s) => arbDecoration(s.pool.servers.length, s.fwmark === undefined && s.port !== 0));
    return fc.tuple(fc.constant(spec), fc.tuple(...decorations));
  })
  .map(([spec, decorations]) => {
    spec.services.forEach((s, i) => decorate(s, decorations[i]!));
    return spec;
  });

function compiled(spec: SpecInput): CompileOutput {
  const r = compile(spec);
  assert.ok(r.ok, formatIssues(r.issues));
  return r.output;
}

describe("import(render(spec)) compiles to the same files", () => {
  test("keepalived.conf byte for byte, the ipvsadm rules of keepalived's services, nothing reported", () => {
    let checked = 0;
    let withGroups = 0;
    fc.assert(
      fc.property(arbCase, (spec) => {
        const parsed = parseSpec(spec);
        fc.pre(parsed.ok && !hasErrors(validate(parsed.spec)));
        const out = compiled(spec);
        const d = out.directors[0]!;
        const secrets = new Map(d.secretFiles.map((f) => [f.path, f.content]));
        const imported = importKeepalivedConf(d.keepalivedConf, "/etc/keepalived/keepalived.conf", {
          readInclude: (p) => secrets.get(p), directorName: "lb1",
        });
        assert.deepEqual(imported.findings.map((f) => `${findingKey(f)} ${f.message}`), [], d.keepalivedConf);
        const again = compiled(imported.spec);
        assert.equal(again.directors[0]!.keepalivedConf, d.keepalivedConf);
        const owned = structuredClone(spec);
        owned.services = owned.services.filter((_, i) => out.model.services.find((m) => m.specIndex === i)?.owner === "keepalived");
        assert.equal(again.ipvsadmRules, compiled(owned).ipvsadmRules);
        checked++;
        if (spec.services.some((s) => s.group !== undefined && out.model.services.some((m) => m.group?.name === s.name && m.owner === "keepalived"))) withGroups++;
      }),
      { seed: FC_SEED, numRuns: 150 },
    );
    assert.ok(checked >= 100, `only ${checked} of 150 generated specs were valid`);
    assert.ok(withGroups >= 10, `only ${withGroups} valid specs with a keepalived-owned group service`);
  });
});
