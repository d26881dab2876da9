/**
 * HA mode rules. `stateless` means every director is active behind ECMP and no connection
 * state is shared: a flow may reach any director mid-connection, so every director must
 * pick the same real server on its own (mh, a consistent hash), accept mid-flow packets
 * (sloppy_tcp / sloppy_sctp), and drained servers must fall through to the next one
 * (mh-fallback). There is no master, so no sync daemon.
 */
import type { Issue } from "../issues.js";
import { flagBit } from "../model/normalize.js";
import type { ParsedSpec, ServiceSpec } from "../schema/spec-schema.js";
import { IssueCollector, describeService, forwardingPath } from "./validation-context.js";

function hasBit(s: ServiceSpec, bit: number): boolean {
  return s.schedulerFlags.some((f) => flagBit(f) === bit);
}

function checkService(s: ServiceSpec, i: number, out: IssueCollector): void {
  if (s.scheduler !== "mh") {
    out.error(
      "stateless-ha-needs-mh",
      ["services", i, "scheduler"],
      `${describeService(s)} uses scheduler ${s.scheduler}, but stateless HA (directors behind ECMP, no shared state) needs mh: only a consistent hash sends a flow to the same real server whichever director receives it`,
      "scheduler: mh, schedulerFlags: [mh-fallback, mh-port]",
    );
  } else {
    if (!hasBit(s, 0)) {
      out.error(
        "stateless-ha-needs-mh",
        ["services", i, "schedulerFlags"],
        `${describeService(s)} runs in stateless HA without mh-fallback: a drained (weight 0) or overloaded server answers "no destination available" instead of passing the flow on`,
        "add mh-fallback to schedulerFlags",
      );
    }
    if (!hasBit(s, 1) && !s.persistence) {
      out.warning(
        "stateless-ha-needs-mh",
        ["services", i, "schedulerFlags"],
        `${describeService(s)} runs in stateless HA without mh-port: all flows of one client address land on one real server while ECMP spreads them by port`,
        "add mh-port to schedulerFlags (leave it out only when clients must stick to one server)",
      );
    }
  }
  const natPaths = new Set<string>();
  s.pool.servers.forEach((rs, j) => {
    if ((rs.forwarding ?? s.pool.forwarding).method !== "nat") return;
    const path = forwardingPath(i, s, j);
    const key = path.join(".");
    if (natPaths.has(key)) return;
    natPaths.add(key);
    out.warning(
      "stateless-ha-needs-mh",
      [...path, "method"],
      `${describeService(s)} uses nat forwarding in stateless HA: replies must pass back through the director that translated the request, which ECMP does not guarantee`,
      "use dr or tunnel forwarding so replies bypass the directors",
    );
  });
}

/** HA-mode rules (stateless ECMP directors). */
export function validateHa(spec: ParsedSpec): Issue[] {
  const out = new IssueCollector();
  if ((spec.ha?.mode ?? "vrrp") !== "stateless") return out.issues;
  spec.services.forEach((s, i) => checkService(s, i, out));

  const tcpLike = spec.services.some((s) => s.fwmark !== undefined || s.protocol === "tcp");
  if (tcpLike && spec.sysctl?.sloppyTcp !== true) {
    out.error(
      "stateless-ha-needs-mh",
      ["sysctl", "sloppyTcp"],
      "stateless HA needs net.ipv4.vs.sloppy_tcp=1: a director that did not see the SYN must still accept the flow when ECMP moves it (fwmark services count, their marks may match TCP)",
      "sysctl: { sloppyTcp: true }",
    );
  }
  if (spec.services.some((s) => s.protocol === "sctp") && spec.sysctl?.sloppySctp !== true) {
    out.error(
      "stateless-ha-needs-mh",
      ["sysctl", "sloppySctp"],
      "stateless HA needs net.ipv4.vs.sloppy_sctp=1 for SCTP services: a director that did not see the INIT must still accept the association",
      "sysctl: { sloppySctp: true }",
    );
  }
  if (spec.syncDaemon) {
    out.error(
      "stateless-ha-needs-mh",
      ["syncDaemon"],
      "stateless HA has no master director, so the connection sync daemon has nothing to follow: consistent hashing replaces it",
      "remove syncDaemon, or use ha.mode vrrp",
    );
  }
  return out.issues;
}
