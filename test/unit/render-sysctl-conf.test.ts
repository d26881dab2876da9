import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { normalize } from "../../src/model/normalize.js";
import type { Model } from "../../src/model/model.js";
import { parseSpec } from "../../src/schema/parse-spec.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import { renderSysctlConf } from "../../src/render/render-sysctl-conf.js";

function build(extra: Partial<SpecInput> = {}): Model {
  const parsed = parseSpec({ directors: [{ name: "d1", interfaces: ["eth0"] }], services: [], ...extra });
  assert.ok(parsed.ok, JSON.stringify(parsed.issues));
  return normalize(parsed.spec);
}

/** The `key = value` lines, without the header comment. */
function entries(text: string): string[] {
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

describe("renderSysctlConf", () => {
  test("defaults: the safe-removal baseline and forwarding, keys sorted", () => {
    const text = renderSysctlConf(build());
    assert.equal(text, [
      "# rendered by pulumi-ipvs; do not edit",
      "net.ipv4.ip_forward = 1",
      "net.ipv4.vs.conntrack = 0",
      "net.ipv4.vs.expire_nodest_conn = 1",
      "net.ipv4.vs.expire_quiescent_template = 1",
      "",
    ].join("\n"));
  });

  test("IPv6 forwarding only when a service is IPv6 (it also stops router advertisements)", () => {
    const v6 = {
      services: [{ name: "w6", protocol: "tcp" as const, address: "2001:db8::80", port: 80, pool: { servers: [{ address: "2001:db8:1::1" }] } }],
    };
    assert.match(renderSysctlConf(build(v6)), /^net\.ipv6\.conf\.all\.forwarding = 1$/m);
    assert.doesNotMatch(renderSysctlConf(build()), /ipv6/);
  });

  test("every setting, sorted, in sysctl.d syntax", () => {
    const lines = entries(renderSysctlConf(build({
      sysctl: { expireNodestConn: false, expireQuiescentTemplate: false, conntrack: true, connReuseMode: 2, sloppyTcp: true, sloppySctp: false, ipForward: true },
    })));
    assert.deepEqual(lines, [
      "net.ipv4.ip_forward = 1",
      "net.ipv4.vs.conn_reuse_mode = 2",
      "net.ipv4.vs.conntrack = 1",
      "net.ipv4.vs.expire_nodest_conn = 0",
      "net.ipv4.vs.expire_quiescent_template = 0",
      "net.ipv4.vs.sloppy_sctp = 0",
      "net.ipv4.vs.sloppy_tcp = 1",
    ]);
    assert.deepEqual([...lines].sort(), lines);
    for (const l of lines) assert.match(l, /^[a-z0-9_.]+ = \d+$/);
  });

  test("ipForward false leaves forwarding alone (no line at all)", () => {
    const text = renderSysctlConf(build({ sysctl: { ipForward: false } }));
    assert.doesNotMatch(text, /forward/);
    assert.match(text, /net\.ipv4\.vs\.expire_nodest_conn = 1/);
  });

  test("deterministic: same model, same bytes; model not mutated", () => {
    const model = build({ sysctl: { connReuseMode: 0, sloppyTcp: false } });
    const before = structuredClone(model);
    const a = renderSysctlConf(model);
    assert.equal(renderSysctlConf(model), a);
    assert.equal(renderSysctlConf(structuredClone(model)), a);
    assert.deepEqual(model, before);
    assert.match(a, /net\.ipv4\.vs\.conn_reuse_mode = 0/);
  });
});
