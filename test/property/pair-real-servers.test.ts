/**
 * The planner pairs live and desired real servers with a merge walk where both lists are
 * sorted; it must pair them exactly as maps keyed by realServerKeyString do (the planner's
 * former way, kept for lists that are not sorted), duplicates and odd spellings included.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { IpvsRealServer } from "../../src/model/model.js";
import { compareRealServers, realServerKeyString } from "../../src/model/service-key.js";
import { pairRealServers } from "../../src/plan/pair-real-servers.js";
import { FC_SEED } from "../support/arbitraries.js";

// 2001:db8::1 and 2001:0db8::1 are one address written two ways: the maps keep them apart
const ADDRESSES = ["10.0.0.1", "10.0.0.2", "10.0.0.10", "192.0.2.1", "2001:db8::1", "2001:0db8::1", "2001:db8::a"];

const arbServer = fc.record({
  address: fc.constantFrom(...ADDRESSES),
  port: fc.constantFrom(0, 80, 8080),
  weight: fc.integer({ min: 0, max: 3 }),
}).map(({ address, port, weight }): IpvsRealServer => ({ address, port, forwarding: "nat", weight, upperThreshold: 0, lowerThreshold: 0 }));

/** A list as a table holds it (sorted, each server once), or as anyone might write one. */
const arbList = fc.tuple(fc.array(arbServer, { maxLength: 8 }), fc.boolean()).map(([servers, tidy]) => {
  if (!tidy) return servers;
  const seen = new Set<string>();
  return [...servers].sort(compareRealServers).filter((rs) => !seen.has(realServerKeyString(rs)) && seen.add(realServerKeyString(rs)));
});

function byMaps(live: IpvsRealServer[], want: IpvsRealServer[]) {
  const liveRs = new Map(live.map((rs) => [realServerKeyString(rs), rs]));
  const wantRs = new Map(want.map((rs) => [realServerKeyString(rs), rs]));
  const visits = [...wantRs].map(([key, rs]) => [rs, liveRs.get(key)] as const);
  const gone = [...liveRs].filter(([key]) => !wantRs.has(key)).map(([, was]) => was);
  return { visits, gone };
}

test("pairing servers: the merge walk gives what the maps give", () => {
  fc.assert(fc.property(arbList, arbList, (live, want) => {
    const p = pairRealServers(live, want);
    const expected = byMaps(live, want);
    const visits = [...p.want].map((j, k) => [want[j], p.live[k]! >= 0 ? live[p.live[k]!] : undefined] as const);
    assert.equal(visits.length, expected.visits.length);
    visits.forEach(([rs, was], k) => {
      assert.equal(rs, expected.visits[k]![0]);
      assert.equal(was, expected.visits[k]![1]);
    });
    assert.deepEqual(p.gone.map((i) => live[i]), expected.gone);
  }), { seed: FC_SEED, numRuns: 2000 });
});
