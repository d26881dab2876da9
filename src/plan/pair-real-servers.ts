/**
 * plan: lining up the real servers of one service, live against desired, by identity
 * (address and port). Both lists are sorted in a table, so one merge walk pairs them with
 * no key string or map entry per server; lists that are not (a hand-made live state) are
 * paired through maps keyed by realServerKeyString, which give the same answer on sorted
 * lists (test/property/pair-real-servers.test.ts).
 */
import type { IpvsRealServer } from "../model/model.js";
import { compareRealServers, hasDuplicateNeighbours, realServerKeyString, realServersSorted } from "../model/service-key.js";

/** How two server lists line up: visit `want[k]` with `live[k]` for each k, then the `gone` ones. */
export interface ServerPairing {
  /** indexes of desired servers in the order to visit them (each server once) */
  want: Int32Array;
  /** for each visit: the index of the same server in the live list, or -1 */
  live: Int32Array;
  /** indexes of the live servers the desired list does not have, in live order */
  gone: number[];
}

/** Pairs live and desired servers as maps keyed by realServerKeyString would (the last of duplicates wins). */
export function pairRealServers(live: readonly IpvsRealServer[], want: readonly IpvsRealServer[]): ServerPairing {
  return pairSorted(live, want) ?? pairByKey(live, want);
}

/** Each server once, in compareRealServers order. */
function strictlyAscending(servers: readonly IpvsRealServer[]): boolean {
  return !hasDuplicateNeighbours(servers) && realServersSorted(servers);
}

/** The merge walk of two strictly ascending lists; undefined when they are not (or when two texts name one address). */
function pairSorted(live: readonly IpvsRealServer[], want: readonly IpvsRealServer[]): ServerPairing | undefined {
  if (!strictlyAscending(live) || !strictlyAscending(want)) return undefined;
  const paired = new Int32Array(want.length);
  const gone: number[] = [];
  let i = 0;
  for (let j = 0; j < want.length; j++) {
    const rs = want[j]!;
    let match = -1;
    while (i < live.length) {
      const was = live[i]!;
      if (was.address === rs.address && was.port === rs.port) {
        match = i++;
        break;
      }
      // only where the lists differ: the full comparison reads both addresses
      const order = compareRealServers(was, rs);
      if (order === 0) return undefined; // one address written two ways: the maps keep them apart
      if (order > 0) break;
      gone.push(i++);
    }
    paired[j] = match;
  }
  while (i < live.length) gone.push(i++);
  const order = new Int32Array(want.length);
  for (let j = 0; j < want.length; j++) order[j] = j;
  return { want: order, live: paired, gone };
}

function pairByKey(live: readonly IpvsRealServer[], want: readonly IpvsRealServer[]): ServerPairing {
  // a Map keeps a key at its first position with its last value: so do these
  const liveAt = new Map<string, number>();
  live.forEach((rs, i) => liveAt.set(realServerKeyString(rs), i));
  const wantAt = new Map<string, number>();
  want.forEach((rs, j) => wantAt.set(realServerKeyString(rs), j));
  const order = new Int32Array(wantAt.size);
  const paired = new Int32Array(wantAt.size);
  let k = 0;
  for (const [key, j] of wantAt) {
    order[k] = j;
    paired[k++] = liveAt.get(key) ?? -1;
  }
  const gone: number[] = [];
  for (const [key, i] of liveAt) if (!wantAt.has(key)) gone.push(i);
  return { want: order, live: paired, gone };
}
