/**
 * A group service (keepalived's virtual_server_group) is one service per member for the
 * plan and the apply (issue #16, point 3): members are added, edited and removed one by
 * one, each under its own name (`NAME.K`, K = position in the expanded member list), and
 * the ownership record names each.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compile } from "../../src/compile.js";
import { planDirector } from "../../src/plan/compute-plan.js";
import type { DirectorPlan } from "../../src/plan/plan-types.js";
import { parseLiveState } from "../../src/state/parse-live-state.js";

const spec = {
  directors: [{ name: "lb1", interfaces: ["eth0"] }],
  services: [{
    name: "web", protocol: "tcp", scheduler: "rr",
    group: { members: [{ address: "203.0.113.10", last: 12, port: 80 }] },
    pool: { forwarding: { method: "dr" }, servers: [{ address: "192.0.2.21", weight: 2 }] },
  }],
};

function dump(save: string, owners = ""): string {
  return [
    "==ipvsc:fingerprint==", "f1", "==ipvsc:save==", save, "==ipvsc:thresholds==", "",
    "==ipvsc:timeouts==", "Timeout (tcp tcpfin udp): 900 120 300", "==ipvsc:daemon==", "",
    "==ipvsc:keepalived-running==", "no", "==ipvsc:owners==", owners, "==ipvsc:addresses==", "", "==ipvsc:end==", "",
  ].join("\n");
}

function plan(live: string): DirectorPlan {
  const r = compile(spec);
  assert.ok(r.ok, JSON.stringify(r.issues));
  return planDirector({ model: r.output.model.directors[0]!, keepalivedConf: "" }, parseLiveState("lb1", live), { owner: "ipvsc", prune: false });
}

describe("plan of a group service", () => {
  test("an empty director gets one service per member of the range", () => {
    const p = plan(dump(""));
    assert.deepEqual(p.operations.map((o) => [o.action, o.service, o.serviceKey]), [
      ["add-service", "web.1", "tcp/203.0.113.10:80"],
      ["add-service", "web.2", "tcp/203.0.113.11:80"],
      ["add-service", "web.3", "tcp/203.0.113.12:80"],
    ]);
  });

  test("a member whose real server differs is edited alone; the others stay", () => {
    const live = [
      "-A -t 203.0.113.10:80 -s rr", "-a -t 203.0.113.10:80 -r 192.0.2.21:80 -g -w 2",
      "-A -t 203.0.113.11:80 -s rr", "-a -t 203.0.113.11:80 -r 192.0.2.21:80 -g -w 5",
      "-A -t 203.0.113.12:80 -s rr", "-a -t 203.0.113.12:80 -r 192.0.2.21:80 -g -w 2",
    ].join("\n");
    const owners = "owner ipvsc\nservice web.1 tcp/203.0.113.10:80 applier\nservice web.2 tcp/203.0.113.11:80 applier\nservice web.3 tcp/203.0.113.12:80 applier\n--";
    const p = plan(dump(live, owners));
    assert.deepEqual(p.operations.map((o) => [o.action, o.service]), [["edit-real-server", "web.2"]]);
    assert.deepEqual(p.batches.apply, ["-e -t 203.0.113.11:80 -r 192.0.2.21:80 -g -w 2"]);
  });
});
