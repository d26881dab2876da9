/**
 * The planner skips building descriptions when a field-for-field check says two services
 * (or real servers) have the same settings. That check must never say "same" for two that
 * the plan would describe differently, or an edit would go unplanned: held here over
 * pairs that differ in one field at a time, or not at all.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { IpvsRealServer, IpvsService } from "../../src/model/model.js";
import {
  describeRealServer, describeService, realServerChanges, sameRealServerSettings, sameServiceSettings, serviceChanges,
} from "../../src/plan/describe-changes.js";
import { SCHEDULER_FLAGS, SCHEDULERS } from "../../src/schema/spec-schema.js";
import { FC_SEED } from "../support/arbitraries.js";

const arbPersistence = fc.option(
  fc.record({ timeout: fc.constantFrom(1, 360, 3600), prefixLength: fc.constantFrom(16, 24, 32) }), // lengths that fit both families
  { nil: undefined },
);

const arbService: fc.Arbitrary<IpvsService> = fc.record({
  family: fc.constantFrom("inet" as const, "inet6" as const),
  scheduler: fc.constantFrom(...SCHEDULERS),
  flags: fc.subarray([...SCHEDULER_FLAGS], { maxLength: 2 }),
  persistence: arbPersistence,
  persistenceEngine: fc.option(fc.constant("sip" as const), { nil: undefined }),
  onePacket: fc.boolean(),
}).map((s): IpvsService => {
  const svc: IpvsService = { key: { kind: "fwmark", fwmark: 1, family: s.family }, family: s.family, scheduler: s.scheduler, flags: s.flags, onePacket: s.onePacket, realServers: [] };
  if (s.persistence) svc.persistence = s.persistence;
  if (s.persistenceEngine) svc.persistenceEngine = s.persistenceEngine;
  return svc;
});

/** A copy of `s` with one field given another (or the same) value, or none. */
function arbServicePair(): fc.Arbitrary<[IpvsService, IpvsService]> {
  return fc.tuple(arbService, arbService, fc.constantFrom("none", "family", "scheduler", "flags", "persistence", "persistenceEngine", "onePacket"))
    .map(([a, other, field]) => {
      const b: IpvsService = { ...a, flags: [...a.flags] };
      if (field === "family") b.family = other.family;
      else if (field === "scheduler") b.scheduler = other.scheduler;
      else if (field === "flags") b.flags = [...other.flags];
      else if (field === "onePacket") b.onePacket = other.onePacket;
      else if (field === "persistence") {
        if (other.persistence) b.persistence = { ...other.persistence };
        else delete b.persistence;
      } else if (field === "persistenceEngine") {
        if (other.persistenceEngine) b.persistenceEngine = other.persistenceEngine;
        else delete b.persistenceEngine;
      }
      return [a, b];
    });
}

const arbRealServer: fc.Arbitrary<IpvsRealServer> = fc.record({
  forwarding: fc.constantFrom("nat" as const, "dr" as const, "tunnel" as const),
  weight: fc.constantFrom(0, 1, 5, 2147483647),
  upperThreshold: fc.constantFrom(0, 10, 100),
  lowerThreshold: fc.constantFrom(0, 5),
  tunnelType: fc.constantFrom("ipip" as const, "gue" as const, "gre" as const),
  tunnelPort: fc.option(fc.constantFrom(6080, 6081), { nil: undefined }),
  checksum: fc.option(fc.constantFrom("nocsum" as const, "csum" as const, "remcsum" as const), { nil: undefined }),
}).map((r): IpvsRealServer => {
  const rs: IpvsRealServer = { address: "192.0.2.1", port: 80, forwarding: r.forwarding, weight: r.weight, upperThreshold: r.upperThreshold, lowerThreshold: r.lowerThreshold };
  if (r.forwarding === "tunnel") {
    rs.tunnel = { type: r.tunnelType };
    if (r.tunnelPort !== undefined) rs.tunnel.port = r.tunnelPort;
    if (r.checksum !== undefined) rs.tunnel.checksum = r.checksum;
  }
  return rs;
});

function arbRealServerPair(): fc.Arbitrary<[IpvsRealServer, IpvsRealServer]> {
  return fc.tuple(arbRealServer, arbRealServer, fc.constantFrom("none", "forwarding", "weight", "upperThreshold", "lowerThreshold", "tunnel"))
    .map(([a, other, field]) => {
      const b: IpvsRealServer = { ...a, ...(a.tunnel ? { tunnel: { ...a.tunnel } } : {}) };
      if (field === "forwarding" || field === "tunnel") {
        b.forwarding = field === "forwarding" ? other.forwarding : a.forwarding;
        if (b.forwarding === "tunnel") b.tunnel = { ...(other.tunnel ?? { type: "ipip" }) };
        else delete b.tunnel;
      } else if (field === "weight") b.weight = other.weight;
      else if (field === "upperThreshold") b.upperThreshold = other.upperThreshold;
      else if (field === "lowerThreshold") b.lowerThreshold = other.lowerThreshold;
      return [a, b];
    });
}

/**
 * Over `pairs`: when `same` says so, the two describe the same; `changes` is empty exactly
 * when the descriptions are equal; and both outcomes occur often enough to mean something.
 */
function checkAgreement<T>(
  pairs: fc.Arbitrary<[T, T]>,
  describeIt: (x: T) => Record<string, string>,
  same: (a: T, b: T) => boolean,
  changes: (a: T, b: T) => unknown[],
): void {
  let equal = 0, different = 0;
  fc.assert(fc.property(pairs, ([a, b]) => {
    const equalDescriptions = JSON.stringify(describeIt(a)) === JSON.stringify(describeIt(b));
    if (same(a, b)) assert.ok(equalDescriptions, JSON.stringify([a, b]));
    assert.equal(changes(a, b).length === 0, equalDescriptions);
    if (equalDescriptions) equal++;
    else different++;
  }), { seed: FC_SEED, numRuns: 2000 });
  assert.ok(equal > 200 && different > 200, `same ${equal}, different ${different}`);
}

describe("the planner's fast settings checks agree with the descriptions it shows", () => {
  test("services: same settings describe the same, and the changes are exactly the differing descriptions", () => {
    checkAgreement(arbServicePair(), describeService, sameServiceSettings, serviceChanges);
  });

  test("real servers: the same, tunnels included", () => {
    checkAgreement(arbRealServerPair(), describeRealServer, sameRealServerSettings, realServerChanges);
  });

  test("a change is named with both values", () => {
    const a: IpvsService = { key: { kind: "fwmark", fwmark: 1, family: "inet" }, family: "inet", scheduler: "wlc", flags: [], onePacket: false, realServers: [] };
    assert.deepEqual(serviceChanges(a, { ...a, scheduler: "mh", flags: ["mh-port"] }), [
      { field: "scheduler", from: "wlc", to: "mh" },
      { field: "flags", from: "-", to: "mh-port" },
    ]);
    assert.deepEqual(serviceChanges(a, { ...a, persistence: { timeout: 300, prefixLength: 24 } }), [
      { field: "persistence", from: "off", to: "300s mask 255.255.255.0" },
    ]);
  });
});
