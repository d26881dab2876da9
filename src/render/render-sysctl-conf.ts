/**
 * The sysctl baseline of a director, in sysctl.d format (`key = value`, keys sorted).
 * `expire_nodest_conn` and `expire_quiescent_template` make draining and removal of real
 * servers safe (see DESIGN.md "Rollout safety").
 */
import type { Model } from "../model/model.js";

const bit = (on: boolean): number => (on ? 1 : 0);

/** The `/etc/sysctl.d/` file for every director of `model`; same model, same bytes. */
export function renderSysctlConf(model: Model): string {
  const s = model.sysctl;
  const entries: [string, number][] = [
    ["net.ipv4.vs.expire_nodest_conn", bit(s.expireNodestConn)],
    ["net.ipv4.vs.expire_quiescent_template", bit(s.expireQuiescentTemplate)],
    ["net.ipv4.vs.conntrack", bit(s.conntrack)],
  ];
  if (s.connReuseMode !== undefined) entries.push(["net.ipv4.vs.conn_reuse_mode", s.connReuseMode]);
  if (s.sloppyTcp !== undefined) entries.push(["net.ipv4.vs.sloppy_tcp", bit(s.sloppyTcp)]);
  if (s.sloppySctp !== undefined) entries.push(["net.ipv4.vs.sloppy_sctp", bit(s.sloppySctp)]);
  // ipForward false means "leave forwarding alone" (DR-only directors), not "turn it off":
  // forcing 0 could cut routing the host does for other reasons
  if (s.ipForward) {
    entries.push(["net.ipv4.ip_forward", 1]);
    // IPv6 forwarding also stops the host from taking router advertisements: only turn it
    // on when some service is IPv6
    if (model.services.some((svc) => svc.ipvs.family === "inet6")) entries.push(["net.ipv6.conf.all.forwarding", 1]);
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const lines = ["# rendered by pulumi-ipvs; do not edit", ...entries.map(([k, v]) => `${k} = ${v}`)];
  return `${lines.join("\n")}\n`;
}
