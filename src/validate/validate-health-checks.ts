/**
 * Health-check and quorum rules for keepalived-owned pools: HTTP checks need url paths,
 * TCP checks on UDP services, checks that would connect to port 0, quorum and hysteresis.
 */
import type { Issue, IssuePath } from "../issues.js";
import { hasHealthChecks, realServerPort } from "../model/normalize.js";
import type { HealthCheckSpec, ParsedSpec, RealServerSpec, ServiceSpec } from "../schema/spec-schema.js";
import { IssueCollector, describeRealServer, describeService, hasIdentity } from "./validation-context.js";

/** Checks that open a TCP connection to the real server. */
const TCP_CHECKS = new Set(["tcp", "http", "https", "smtp"]);
/** Checks that connect to the real server's port unless connectPort says otherwise. */
const PORT_CHECKS = new Set(["tcp", "http", "https", "udp"]);

/**
 * The rules for one list of checks: the pool's (`at` = the pool's path; they apply to the
 * servers without their own) or one server's own (`at` = the server's path).
 */
function checkList(
  s: ServiceSpec, checks: readonly HealthCheckSpec[], at: IssuePath, servers: readonly RealServerSpec[], out: IssueCollector,
): void {
  if (checks.length === 0) return;
  const zeroPort = hasIdentity(s) && servers.some((rs) => realServerPort(s, rs) === 0);
  checks.forEach((check, k) => {
    const path = [...at, "healthChecks", k];
    if (check.type === "http" || check.type === "https") {
      const kind = check.type === "http" ? "HTTP_GET" : "SSL_GET";
      if (!check.urls || check.urls.length === 0) {
        out.error(
          "http-check-without-path",
          [...path, "urls"],
          `${check.type} check of ${describeService(s)} has no urls: keepalived 2.2.7 crashes on a ${kind} without a url (keepalived -t exits 139)`,
          "add urls: [{ path: /healthz, statusCode: [200] }]",
        );
      } else {
        check.urls.forEach((url, u) => {
          if (url.path !== undefined) return;
          out.error(
            "http-check-without-path",
            [...path, "urls", u, "path"],
            `url ${u} of the ${check.type} check of ${describeService(s)} has no path: keepalived 2.2.7 crashes on a ${kind} url without a path (keepalived -t exits 139)`,
            "add path, e.g. path: /healthz",
          );
        });
      }
    }
    if (check.type === "file" || check.type === "command") return;
    const hasConnectPort = check.connectPort !== undefined;
    if (TCP_CHECKS.has(check.type) && s.protocol === "udp" && s.fwmark === undefined && !hasConnectPort) {
      out.warning(
        "check-needs-tcp",
        path,
        `${check.type} check of ${describeService(s)} opens a TCP connection to the UDP service port: it fails unless the servers also listen on TCP there`,
        "use a udp, dns or command check, or set connectPort to a TCP port the servers listen on",
      );
    }
    if (PORT_CHECKS.has(check.type) && zeroPort && !hasConnectPort) {
      out.error(
        "check-needs-port",
        [...path, "connectPort"],
        `${check.type} check of ${describeService(s)} has no connectPort, and real servers of ${s.fwmark !== undefined ? "a fwmark service" : "a port-0 service"} have port 0: the check would connect to port 0 and always fail`,
        "set connectPort to the port the servers answer on",
      );
    }
  });
}

function checkChecks(s: ServiceSpec, i: number, out: IssueCollector): void {
  const pool: IssuePath = ["services", i, "pool"];
  // the pool's checks are the default of every server that has no list of its own
  checkList(s, s.pool.healthChecks ?? [], pool, s.pool.servers.filter((rs) => rs.healthChecks === undefined), out);
  s.pool.servers.forEach((rs, j) => {
    if (rs.healthChecks) checkList(s, rs.healthChecks, [...pool, "servers", j], [rs], out);
  });
}

/** Per-server keepalived settings on a service keepalived does not own would never reach keepalived. */
function checkServerSettings(s: ServiceSpec, i: number, out: IssueCollector): void {
  if (hasHealthChecks(s)) return;
  s.pool.servers.forEach((rs, j) => {
    for (const key of ["healthChecks", "inhibitOnFailure", "alpha", "notifyUp", "notifyDown"] as const) {
      if (rs[key] === undefined) continue;
      out.error(
        "server-setting-without-checks",
        ["services", i, "pool", "servers", j, key],
        `${key} of real server ${describeRealServer(s, rs)} has no effect: ${describeService(s)} has no health check, so the applier owns it and keepalived never sees this server`,
        "add healthChecks to the pool or to a server (the service becomes keepalived's), or remove it",
      );
    }
  });
}

function checkQuorum(s: ServiceSpec, i: number, out: IssueCollector): void {
  const p = s.pool;
  if (p.haSuspend === true && s.fwmark !== undefined) {
    out.error(
      "keepalived-incompatible",
      ["services", i, "pool", "haSuspend"],
      `haSuspend on ${describeService(s)}: keepalived cannot suspend the checks of a fwmark service (it has no VIP to follow) and clears ha_suspend with a warning`,
      "remove haSuspend",
    );
  }
  const total = p.servers.reduce((sum, rs) => sum + rs.weight, 0);
  if (p.quorum !== undefined && p.servers.length > 0 && p.quorum > total) {
    out.error(
      "quorum-above-weights",
      ["services", i, "pool", "quorum"],
      `quorum ${p.quorum} of ${describeService(s)} is above the sum of its real-server weights (${total}): the service can never be up`,
      `lower quorum to at most ${total}, or raise the weights`,
    );
  }
  const quorum = p.quorum ?? 1; // keepalived's default
  if (p.hysteresis !== undefined && p.hysteresis >= quorum) {
    out.error(
      "hysteresis-not-below-quorum",
      ["services", i, "pool", "hysteresis"],
      `hysteresis ${p.hysteresis} of ${describeService(s)} is not below its quorum ${quorum}${p.quorum === undefined ? " (the default)" : ""}: keepalived needs hysteresis < quorum`,
      `set hysteresis to at most ${Math.max(0, quorum - 1)}`,
    );
  }
}

/** Health-check and quorum rules. */
export function validateHealthChecks(spec: ParsedSpec): Issue[] {
  const out = new IssueCollector();
  spec.services.forEach((s, i) => {
    checkChecks(s, i, out);
    checkServerSettings(s, i, out);
    checkQuorum(s, i, out);
  });
  return out.issues;
}
