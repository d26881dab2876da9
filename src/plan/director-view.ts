/**
 * A director as a Pulumi resource shows it: one owner's services keyed by
 * `"<name> <service key>"`, their real servers keyed by `address:port`, keepalived.conf as
 * text. The same view is built from the spec (the resource's inputs) and from the live
 * director (its outputs after create, update and refresh), and a plan becomes property
 * paths into it (`services["web tcp/203.0.113.10:80"].servers["192.0.2.12:8080"].weight`),
 * so `pulumi preview --diff` prints each planned operation as one property change.
 *
 * The values are the planner's own descriptions (describe-changes.ts): a field differs in
 * the view exactly when the plan reports it. Pure.
 */
import type { DirectorModel, IpvsRealServer, IpvsService } from "../model/model.js";
import { realServerKeyString, serviceKeyString } from "../model/service-key.js";
import type { LiveState } from "../state/live-state.js";
import { keepalivedIsManaged, ourOwnership } from "./compute-plan.js";
import { describeRealServer, describeService } from "./describe-changes.js";
import type { DirectorPlan, PlanOperation } from "./plan-types.js";

/**
 * A real server's settings. A keepalived-owned server's are empty: keepalived changes them
 * (health checks move weights), the planner leaves them to it, and they show in
 * keepalivedConf instead.
 */
export interface RealServerView {
  forwarding?: string;
  weight?: number;
  upperThreshold?: number;
  lowerThreshold?: number;
}

/** A virtual service's settings and its real servers. */
export interface ServiceView {
  /** who changes it: the applier (ipvsadm deltas) or keepalived (checked reload) */
  owner: "applier" | "keepalived";
  scheduler: string;
  /** scheduler flags, comma-separated, "-" for none */
  flags: string;
  /** `off`, or `<timeout>s` with a mask or prefix */
  persistence: string;
  persistenceEngine: string;
  onePacket: boolean;
  servers: Record<string, RealServerView>;
}

/** keepalived on the director: not this spec's business, or running, or not running. */
export type KeepalivedStatus = "unmanaged" | "running" | "stopped";

/** One owner's share of a director. */
export interface DirectorView {
  services: Record<string, ServiceView>;
  keepalived: KeepalivedStatus;
  /** the installed keepalived.conf ("" when keepalived is not this spec's business) */
  keepalivedConf: string;
}

/** `web tcp/203.0.113.10:80`: a service's key in the view. */
export function serviceLabel(name: string, serviceKey: string): string {
  return `${name} ${serviceKey}`;
}

function realServerView(rs: IpvsRealServer, owner: ServiceView["owner"]): RealServerView {
  if (owner === "keepalived") return {};
  return { forwarding: describeRealServer(rs)["forwarding"]!, weight: rs.weight, upperThreshold: rs.upperThreshold, lowerThreshold: rs.lowerThreshold };
}

function serviceView(ipvs: IpvsService, owner: ServiceView["owner"], servers: readonly IpvsRealServer[]): ServiceView {
  const d = describeService(ipvs);
  const out: Record<string, RealServerView> = {};
  for (const rs of servers) out[realServerKeyString(rs)] = realServerView(rs, owner);
  return {
    owner,
    scheduler: d["scheduler"]!,
    flags: d["flags"]!,
    persistence: d["persistence"]!,
    persistenceEngine: d["persistence-engine"]!,
    onePacket: ipvs.onePacket,
    servers: out,
  };
}

/** The view the spec asks for. */
export function desiredDirectorView(director: DirectorModel, keepalivedConf: string): DirectorView {
  const services: Record<string, ServiceView> = {};
  for (const s of director.services) {
    services[serviceLabel(s.name, serviceKeyString(s.ipvs.key))] = serviceView(s.ipvs, s.owner, s.ipvs.realServers);
  }
  const managed = keepalivedIsManaged(director);
  return { services, keepalived: managed ? "running" : "unmanaged", keepalivedConf: managed ? keepalivedConf : "" };
}

/**
 * The view of what is live: the services this owner's record names that the kernel has.
 * A keepalived-owned server the kernel lacks but `desired` declares is kept (a failed
 * health check removed it: health, not drift), as the planner and `ipvsc drift` treat it.
 */
export function liveDirectorView(live: LiveState, owner: string, desired: DirectorModel | undefined, managed: boolean): DirectorView {
  const liveByKey = new Map(live.table.services.map((s) => [serviceKeyString(s.key), s]));
  const desiredByKey = new Map((desired?.services ?? []).map((s) => [serviceKeyString(s.ipvs.key), s]));
  const services: Record<string, ServiceView> = {};
  // by name, whatever order the record on the director lists them in
  const ours = [...ourOwnership(live, owner)].sort(([, a], [, b]) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const [key, { name, kind }] of ours) {
    const current = liveByKey.get(key);
    if (!current) continue;
    const svcOwner = kind === "keepalived" ? "keepalived" : "applier";
    let servers = current.realServers;
    const want = desiredByKey.get(key);
    if (svcOwner === "keepalived" && want) {
      const present = new Set(servers.map(realServerKeyString));
      const missing = want.ipvs.realServers.filter((rs) => !present.has(realServerKeyString(rs)));
      if (missing.length > 0) servers = [...servers, ...missing];
    }
    services[serviceLabel(name, key)] = serviceView(current, svcOwner, servers);
  }
  return {
    services,
    keepalived: !managed ? "unmanaged" : live.keepalivedRunning ? "running" : "stopped",
    keepalivedConf: managed ? live.keepalivedConf ?? "" : "",
  };
}

/** One property change, as Pulumi's detailed diff names it. */
export interface ViewChange {
  kind: "add" | "delete" | "update";
}

/** The plan's field names -> the view's. */
const FIELD: Record<string, string> = {
  scheduler: "scheduler",
  flags: "flags",
  persistence: "persistence",
  "persistence-engine": "persistenceEngine",
  "one-packet": "onePacket",
  forwarding: "forwarding",
  weight: "weight",
  "upper-threshold": "upperThreshold",
  "lower-threshold": "lowerThreshold",
};

function quoted(key: string): string {
  return `[${JSON.stringify(key)}]`;
}

/** `services["web tcp/..."]` and its server's path. */
export function servicePath(label: string, realServer?: string): string {
  return `services${quoted(label)}${realServer === undefined ? "" : `.servers${quoted(realServer)}`}`;
}

/**
 * A keepalived-owned real server the kernel lacks: what a failed health check does. The
 * planner lists it (keepalived's reload brings it back when the config changes anyway);
 * it is health, not a change this resource makes.
 */
export function isHealthOperation(op: PlanOperation): boolean {
  return op.owner === "keepalived" && op.action === "add-real-server";
}

/**
 * The plan as property paths of the view. `liveLabels` are the services the live view
 * holds: a service the spec declares that is not in them (on the director already, not yet
 * recorded for this owner) is an add, a recorded one the spec renamed a delete.
 */
export function planAsViewChanges(plan: DirectorPlan, desired: DirectorView, liveLabels: ReadonlySet<string>): Record<string, ViewChange> {
  const out: Record<string, ViewChange> = {};
  const labelOf = new Map<string, string>();
  for (const label of Object.keys(desired.services)) labelOf.set(label.slice(label.indexOf(" ") + 1), label);
  for (const label of liveLabels) if (!labelOf.has(label.slice(label.indexOf(" ") + 1))) labelOf.set(label.slice(label.indexOf(" ") + 1), label);
  for (const op of plan.operations) {
    if (isHealthOperation(op)) continue;
    const label = labelOf.get(op.serviceKey) ?? serviceLabel(op.service, op.serviceKey);
    switch (op.action) {
      case "add-service": out[servicePath(label)] = { kind: "add" }; break;
      case "remove-service": out[servicePath(label)] = { kind: "delete" }; break;
      case "edit-service":
        for (const c of op.changes) out[`${servicePath(label)}.${FIELD[c.field] ?? c.field}`] = { kind: "update" };
        break;
      case "add-real-server": out[servicePath(label, op.realServer)] = { kind: "add" }; break;
      case "edit-real-server":
        for (const c of op.changes) out[`${servicePath(label, op.realServer)}.${FIELD[c.field] ?? c.field}`] = { kind: "update" };
        break;
      // a drain is the first half of a removal: one delete of the server
      case "drain-real-server":
      case "remove-real-server":
        if (!plan.operations.some((o) => o.action === "remove-service" && o.serviceKey === op.serviceKey)) {
          out[servicePath(label, op.realServer)] = { kind: "delete" };
        }
        break;
    }
  }
  // ownership only: a service adopted into this owner's record, or renamed in it
  for (const label of Object.keys(desired.services)) {
    if (!liveLabels.has(label) && !(servicePath(label) in out)) out[servicePath(label)] = { kind: "add" };
  }
  for (const label of liveLabels) {
    if (!(label in desired.services) && !(servicePath(label) in out)) out[servicePath(label)] = { kind: "delete" };
  }
  if (plan.keepalived.configChanged) out["keepalivedConf"] = { kind: "update" };
  if (plan.keepalived.action === "start") out["keepalived"] = { kind: "update" };
  return out;
}
