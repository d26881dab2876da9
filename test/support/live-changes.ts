/**
 * A live table drawn near a desired one, for the digest read's tests (issue #17, point 3):
 * weights and thresholds changed, servers and services gone, a scheduler changed, foreign
 * services added, the whole in another (kernel-like) order.
 */
import fc from "fast-check";
import type { IpvsService, IpvsTable } from "../../src/model/model.js";
import { arbIpvsTable } from "./arbitraries.js";

export function arbLiveChanges(desired: IpvsTable): fc.Arbitrary<IpvsService[]> {
  return fc.record({
    picks: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 4 }), fc.nat(), fc.nat({ max: 500 })), { maxLength: 4 }),
    foreign: arbIpvsTable({ maxServices: 2, maxRealServers: 3 }),
    order: fc.nat(),
  }).map(({ picks, foreign, order }) => {
    const services = desired.services.map((s) => ({ ...s, realServers: s.realServers.map((rs) => ({ ...rs })) }));
    for (const [i, what, j, value] of picks) {
      const s = services[i % Math.max(1, services.length)];
      if (!s) continue;
      const rs = s.realServers[j % Math.max(1, s.realServers.length)];
      if (what === 0 && rs) rs.weight = value;
      else if (what === 1 && rs) {
        rs.upperThreshold = value + 1;
        rs.lowerThreshold = Math.floor(value / 2);
      } else if (what === 2 && rs) s.realServers.splice(s.realServers.indexOf(rs), 1);
      else if (what === 3) services.splice(services.indexOf(s), 1);
      else if (what === 4) s.scheduler = s.scheduler === "rr" ? "wrr" : "rr";
    }
    const keys = new Set(services.map((s) => JSON.stringify(s.key)));
    for (const f of foreign.services) if (!keys.has(JSON.stringify(f.key))) services.push(f);
    const k = services.length === 0 ? 0 : order % services.length;
    return [...services.slice(k), ...services.slice(0, k)];
  });
}
