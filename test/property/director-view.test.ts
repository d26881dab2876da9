/**
 * The director resource shows a plan as property paths of its view (src/plan/director-view.ts),
 * and Pulumi shows a preview as the view of the live director (the inputs a refresh writes)
 * against the view of the spec. Both must say the same thing: for random specs and random
 * live tables (services dropped or added by hand, schedulers, weights and servers edited,
 * services recorded by this owner, unowned ones), the paths where the two views differ are
 * exactly the paths the plan maps to: nothing the plan does is hidden in the preview, and
 * the preview shows nothing the plan does not do.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { compile } from "../../src/compile.js";
import type { IpvsService } from "../../src/model/model.js";
import { serviceKeyString } from "../../src/model/service-key.js";
import { keepalivedIsManaged, planDirector } from "../../src/plan/compute-plan.js";
import {
  desiredDirectorView, isHealthOperation, liveDirectorView, planAsViewChanges, servicePath, type DirectorView,
} from "../../src/plan/director-view.js";
import type { LiveState } from "../../src/state/live-state.js";
import { FC_SEED, arbSpecCase } from "../support/arbitraries.js";

const OWNER = "stack-a";

/** Leaf paths where two views differ, as Pulumi's property diff finds them. */
function viewDifferences(live: DirectorView, want: DirectorView): Record<string, string> {
  const out: Record<string, string> = {};
  for (const label of new Set([...Object.keys(live.services), ...Object.keys(want.services)])) {
    const a = live.services[label], b = want.services[label];
    if (!a) { out[servicePath(label)] = "add"; continue; }
    if (!b) { out[servicePath(label)] = "delete"; continue; }
    for (const field of ["scheduler", "flags", "persistence", "persistenceEngine", "onePacket"] as const) {
      if (a[field] !== b[field]) out[`${servicePath(label)}.${field}`] = "update";
    }
    for (const rs of new Set([...Object.keys(a.servers), ...Object.keys(b.servers)])) {
      const x = a.servers[rs], y = b.servers[rs];
      if (!x) { out[servicePath(label, rs)] = "add"; continue; }
      if (!y) { out[servicePath(label, rs)] = "delete"; continue; }
      for (const field of ["forwarding", "weight", "upperThreshold", "lowerThreshold"] as const) {
        if (x[field] !== y[field]) out[`${servicePath(label, rs)}.${field}`] = "update";
      }
    }
  }
  if (live.keepalivedConf !== want.keepalivedConf) out["keepalivedConf"] = "update";
  if (live.keepalived !== want.keepalived) out["keepalived"] = "update";
  return out;
}

type Edit = "none" | "drop-service" | "scheduler" | "drop-server" | "weight" | "threshold" | "unowned" | "unrecorded";

function edited(svc: IpvsService, edit: Edit, pick: number): IpvsService {
  const copy: IpvsService = { ...svc, flags: [...svc.flags], realServers: svc.realServers.map((rs) => ({ ...rs })) };
  const rs = copy.realServers[pick % copy.realServers.length];
  if (edit === "scheduler") {
    copy.scheduler = svc.scheduler === "rr" ? "lc" : "rr";
    copy.flags = [];
  } else if (edit === "drop-server" && copy.realServers.length > 1) copy.realServers.splice(pick % copy.realServers.length, 1);
  else if (edit === "weight" && rs) rs.weight = rs.weight + 3;
  else if (edit === "threshold" && rs) rs.upperThreshold = rs.upperThreshold + 10;
  return copy;
}

const arbCase = fc.record({
  spec: arbSpecCase({ maxServices: 5 }),
  edits: fc.array(fc.constantFrom<Edit>("none", "none", "drop-service", "scheduler", "drop-server", "weight", "threshold", "unrecorded"), { minLength: 6, maxLength: 6 }),
  picks: fc.array(fc.nat(7), { minLength: 6, maxLength: 6 }),
  unowned: fc.boolean(),
  keepalived: fc.constantFrom("same", "other", "stopped"),
});

describe("the director view shows exactly the plan", () => {
  test("live view vs desired view differ exactly at the plan's paths", () => {
    fc.assert(fc.property(arbCase, ({ spec, edits, picks, unowned, keepalived }) => {
      const r = compile(spec.spec);
      assert.ok(r.ok, JSON.stringify(r.issues));
      const d = r.output.model.directors[0]!;
      const conf = r.output.directors[0]!.keepalivedConf;
      const record: Record<string, string> = {};
      const liveServices: IpvsService[] = [];
      d.services.forEach((s, i) => {
        const edit = edits[i] ?? "none";
        if (edit === "drop-service") return;
        liveServices.push(edited(s.ipvs, edit, picks[i] ?? 0));
        // "unrecorded": on the director, not yet in this owner's record (adopted by the apply)
        if (edit !== "unrecorded") record[s.name] = `${serviceKeyString(s.ipvs.key)} ${s.owner}`;
      });
      if (unowned) {
        liveServices.push({ key: { kind: "fwmark", fwmark: 4242, family: "inet" }, family: "inet", scheduler: "rr", flags: [], onePacket: false, realServers: [] });
      }
      const live: LiveState = {
        director: d.name, fingerprint: "f", table: { services: liveServices }, connections: new Map(),
        keepalivedConf: keepalived === "other" ? `${conf}# edited by hand\n` : conf,
        keepalivedRunning: keepalived !== "stopped",
        ownership: [{ owner: OWNER, services: record }, { owner: "stack-b", services: {} }],
        vrrpStates: {}, syncDaemons: [], addresses: [], issues: [],
      };
      const plan = planDirector({ model: d, keepalivedConf: conf }, live, { owner: OWNER });
      const want = desiredDirectorView(d, conf);
      const liveView = liveDirectorView(live, OWNER, d, keepalivedIsManaged(d));
      const planned = planAsViewChanges(plan, want, new Set(Object.keys(liveView.services)));
      const expected = viewDifferences(liveView, want);
      assert.deepEqual(
        Object.fromEntries(Object.entries(planned).map(([k, v]) => [k, v.kind]).sort()),
        Object.fromEntries(Object.entries(expected).sort()),
      );
      // nothing to show is nothing to do (ownership aside: an adoption is an add in both)
      if (Object.keys(expected).length === 0) assert.equal(plan.operations.filter((o) => !isHealthOperation(o)).length, 0);
    }), { seed: FC_SEED, numRuns: 300 });
  });

  test("a keepalived-owned server a failed check removed is health: in neither view's difference", () => {
    const r = compile({
      directors: [{ name: "lb1", interfaces: ["eth0"] }],
      services: [{
        name: "web", protocol: "tcp", address: "203.0.113.10", port: 80,
        pool: { forwarding: { method: "dr" }, servers: [{ address: "192.0.2.11" }, { address: "192.0.2.12" }], healthChecks: [{ type: "tcp" }] },
      }],
    });
    assert.ok(r.ok);
    const d = r.output.model.directors[0]!;
    const conf = r.output.directors[0]!.keepalivedConf;
    const svc = d.services[0]!;
    const live: LiveState = {
      director: "lb1", fingerprint: "f", connections: new Map(), keepalivedConf: conf, keepalivedRunning: true,
      table: { services: [{ ...svc.ipvs, realServers: svc.ipvs.realServers.slice(0, 1) }] },
      ownership: [{ owner: OWNER, services: { web: "tcp/203.0.113.10:80 keepalived" } }],
      vrrpStates: {}, syncDaemons: [], addresses: [], issues: [],
    };
    const plan = planDirector({ model: d, keepalivedConf: conf }, live, { owner: OWNER });
    assert.deepEqual(plan.operations.map((o) => o.action), ["add-real-server"], "the planner lists it");
    const want = desiredDirectorView(d, conf);
    const liveView = liveDirectorView(live, OWNER, d, true);
    assert.deepEqual(planAsViewChanges(plan, want, new Set(Object.keys(liveView.services))), {});
    assert.deepEqual(viewDifferences(liveView, want), {});
    assert.equal(want.services["web tcp/203.0.113.10:80"]!.servers["192.0.2.11:80"]!.weight, undefined, "no weight: health checks move it");
  });
});
