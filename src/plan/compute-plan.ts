/**
 * The planner: desired director vs live director -> ordered operations and the ipvsadm
 * batches that carry them out. Pure. Ordering follows reference/ipvsadm.md: new services,
 * edited services, new and edited real servers (weight 0 for drains), then, after the
 * drain, real-server deletes and service deletes. Every edit sends the full definition.
 */
import { createHash } from "node:crypto";
import type { DirectorModel, IpvsRealServer, IpvsService, ServiceModel } from "../model/model.js";
import { realServerKeyString, serviceKeyString, serviceSelector } from "../model/service-key.js";
import {
  renderDeleteRealServer, renderDeleteService, renderIpvsadmRules, renderRealServerCommand, renderServiceCommand,
} from "../render/render-ipvsadm-rules.js";
import { RuleBlocks } from "../render/rule-blocks.js";
import { renderOwnershipRecord, type LiveState, type OwnershipRecord } from "../state/live-state.js";
import { realServerChanges, serviceChanges } from "./describe-changes.js";
import { diffConfigText } from "./diff-config-text.js";
import { pairRealServers } from "./pair-real-servers.js";
import type { ContestedService, DirectorPlan, ForeignService, PlanBatches, PlanOperation } from "./plan-types.js";

/** Planner settings. */
export interface PlanOptions {
  /** who this spec is on the director: services in this owner's record are ours to change */
  owner: string;
  /** remove foreign services too: only those no owner's record names */
  prune?: boolean;
}

/** What the planner needs of the compiled artifacts. */
export interface DesiredDirector {
  model: DirectorModel;
  keepalivedConf: string;
  /** renderIpvsadmRules(model.table), as compile gives it: the plan's expected rules are cut from it */
  ipvsadmRules?: string;
}

/**
 * renderIpvsadmRules of these services (sorted, of `desired`'s table): their blocks cut
 * from the director's rules text when there is one, rendered again otherwise.
 */
function expectedRulesOf(desired: DesiredDirector, services: IpvsService[]): string {
  if (desired.ipvsadmRules !== undefined) {
    const blocks = RuleBlocks.of(desired.ipvsadmRules);
    const texts: string[] = [];
    for (const s of services) {
      const text = blocks.blockOf(serviceSelector(s.key));
      if (text === undefined) break;
      texts.push(text);
    }
    if (texts.length === services.length) return texts.length === 0 ? "" : `${texts.join("\n")}\n`;
  }
  // renderIpvsadmRules sorts a copy when it must and never touches its input: no clone needed
  return renderIpvsadmRules({ services });
}

function byKey<T extends { key: IpvsService["key"] }>(items: T[]): Map<string, T> {
  return new Map(items.map((i) => [serviceKeyString(i.key), i]));
}

/** Ownership records on the director that are not ours: key -> the owners naming it ("b, c"), sorted. */
function othersOwnership(live: LiveState, owner: string): Map<string, string> {
  const owners = new Map<string, Set<string>>();
  for (const rec of live.ownership) {
    if (rec.owner === owner) continue;
    for (const value of Object.values(rec.services)) {
      const key = value.split(" ")[0]!;
      const set = owners.get(key) ?? new Set<string>();
      set.add(rec.owner);
      owners.set(key, set);
    }
  }
  return new Map([...owners].map(([key, set]) => [key, [...set].sort().join(", ")]));
}

/** Our previous record: service key -> [name, owner kind]. */
export function ourOwnership(live: LiveState, owner: string): Map<string, { name: string; kind: string }> {
  const rec = live.ownership.find((r) => r.owner === owner);
  const out = new Map<string, { name: string; kind: string }>();
  for (const [name, value] of Object.entries(rec?.services ?? {})) {
    const [key, kind = "applier"] = value.split(" ");
    out.set(key!, { name, kind });
  }
  return out;
}

/** The two records render the same (renderOwnershipRecord), compared without rendering the old one. */
function sameRecord(a: OwnershipRecord, b: OwnershipRecord): boolean {
  if (a.owner !== b.owner) return false;
  const names = Object.keys(b.services);
  if (Object.keys(a.services).length !== names.length) return false;
  return names.every((n) => Object.prototype.hasOwnProperty.call(a.services, n) && a.services[n] === b.services[n]);
}

/** What a drain waits for, as the director counted it when its state was read. */
function connectionNote(live: LiveState, serviceKey: string, rsKey: string): { note?: string } {
  const c = live.connections.get(serviceKey)?.get(rsKey);
  if (!c) return {};
  const plural = (n: number, what: string) => `${n} ${what} connection${n === 1 ? "" : "s"}`;
  return { note: `${plural(c.activeConn, "active")}, ${plural(c.inactConn, "inactive")} when planned` };
}

function weightZero(rs: IpvsRealServer): IpvsRealServer {
  return { ...rs, weight: 0 };
}

/** Whether keepalived runs on this director for this spec: health-checked pools or VRRP. */
export function keepalivedIsManaged(director: DirectorModel): boolean {
  return director.services.some((s) => s.owner === "keepalived") || director.vrrpInstances.length > 0;
}

/** Computes the plan of one director. */
export function planDirector(desired: DesiredDirector, live: LiveState, options: PlanOptions): DirectorPlan {
  const owner = options.owner;
  const ops: PlanOperation[] = [];
  const batches: PlanBatches = { apply: [], drain: [], finalize: [], rollback: [], removedSelectors: [] };
  // each step carries its undo; the rollback is the undo of the execution order, reversed
  type Step = { cmd: string; undo: string[] };
  const addServices: Step[] = [], editServices: Step[] = [], addRs: Step[] = [], editRs: Step[] = [];
  const delRs: Step[] = [], delServices: Step[] = [];

  const liveByKey = byKey(live.table.services);
  const desiredServices = desired.model.services;
  // each desired service's key string, computed once: the maps and loops below all need it
  const keyOf = new Map(desiredServices.map((s) => [s, serviceKeyString(s.ipvs.key)]));
  const desiredByKey = new Map(desiredServices.map((s) => [keyOf.get(s)!, s]));
  const ours = ourOwnership(live, owner);
  const others = othersOwnership(live, owner);
  const namesToKeys = new Map(desiredServices.map((s) => [s.name, keyOf.get(s)!]));
  const previousKeyOfName = new Map([...ours.entries()].map(([k, v]) => [v.name, k]));

  for (const svc of desiredServices) {
    const key = keyOf.get(svc)!;
    const current = liveByKey.get(key);
    const identityChanged = previousKeyOfName.has(svc.name) && previousKeyOfName.get(svc.name) !== key;
    if (!current) {
      ops.push({
        action: "add-service", class: identityChanged ? "disruptive" : "in-place", owner: svc.owner, service: svc.name, serviceKey: key,
        changes: [], ...(identityChanged ? { note: `identity changed from ${previousKeyOfName.get(svc.name)}: clients of the old address lose it` } : {}),
      });
      if (svc.owner === "applier") {
        addServices.push({ cmd: renderServiceCommand("-A", svc.ipvs), undo: [renderDeleteService(svc.ipvs.key)] });
        for (const rs of svc.ipvs.realServers) addServices.push({ cmd: renderRealServerCommand("-a", svc.ipvs, rs), undo: [] });
      }
      continue;
    }
    planServiceEdit(svc, current, key);
  }

  function planServiceEdit(svc: ServiceModel, current: IpvsService, key: string): void {
    const changes = serviceChanges(current, svc.ipvs);
    if (changes.length > 0) {
      ops.push({ action: "edit-service", class: "in-place", owner: svc.owner, service: svc.name, serviceKey: key, changes });
      if (svc.owner === "applier") {
        editServices.push({ cmd: renderServiceCommand("-E", svc.ipvs), undo: [renderServiceCommand("-E", current)] });
      }
    }
    // read from a dump that listed exactly the desired servers (parseLiveState's expected):
    // nothing to compare, every editRealServer below would find them equal
    if (current.realServers === svc.ipvs.realServers) return;
    const liveServers = current.realServers, wantServers = svc.ipvs.realServers;
    const pairing = pairRealServers(liveServers, wantServers);
    for (let k = 0; k < pairing.want.length; k++) {
      const rs = wantServers[pairing.want[k]!]!;
      const i = pairing.live[k]!;
      if (i >= 0) {
        editRealServer(svc, current, key, liveServers[i]!, rs);
        continue;
      }
      const rsKey = realServerKeyString(rs);
      ops.push({ action: "add-real-server", class: "in-place", owner: svc.owner, service: svc.name, serviceKey: key, realServer: rsKey, changes: [] });
      if (svc.owner === "applier") {
        addRs.push({ cmd: renderRealServerCommand("-a", svc.ipvs, rs), undo: [renderDeleteRealServer(svc.ipvs.key, rs)] });
      }
    }
    for (const i of pairing.gone) {
      const was = liveServers[i]!;
      const rsKey = realServerKeyString(was);
      // drain in the kernel for both owners: keepalived neither notices nor repairs manual weights,
      // and its reload later deletes the (then idle) server
      ops.push({ action: "drain-real-server", class: "draining", owner: svc.owner, service: svc.name, serviceKey: key, realServer: rsKey, changes: [{ field: "weight", from: String(was.weight), to: "0" }], ...connectionNote(live, key, rsKey) });
      ops.push({ action: "remove-real-server", class: "draining", owner: svc.owner, service: svc.name, serviceKey: key, realServer: rsKey, changes: [] });
      if (was.weight !== 0) {
        editRs.push({ cmd: renderRealServerCommand("-e", current, weightZero(was)), undo: [renderRealServerCommand("-e", current, was)] });
      }
      batches.drain.push({ selector: serviceSelector(current.key), realServer: rsKey });
      if (svc.owner === "applier") {
        delRs.push({ cmd: renderDeleteRealServer(current.key, was), undo: [renderRealServerCommand("-a", current, was)] });
      }
    }
  }

  /** A real server on both sides: an edit when anything but its identity differs. */
  function editRealServer(svc: ServiceModel, current: IpvsService, key: string, was: IpvsRealServer, rs: IpvsRealServer): void {
    // keepalived-owned weights move with health checks: a failed check is health, not drift
    if (svc.owner === "keepalived" || was === rs) return;
    const rsChanges = realServerChanges(was, rs);
    if (rsChanges.length > 0) {
      ops.push({ action: "edit-real-server", class: "in-place", owner: svc.owner, service: svc.name, serviceKey: key, realServer: realServerKeyString(rs), changes: rsChanges });
      editRs.push({ cmd: renderRealServerCommand("-e", svc.ipvs, rs), undo: [renderRealServerCommand("-e", current, was)] });
    }
  }

  const foreign: ForeignService[] = [];
  for (const [key, current] of liveByKey) {
    if (desiredByKey.has(key)) continue;
    const ownedBy = others.get(key);
    // another owner's record names it: theirs, never an operation here, even when our old
    // record names it too (two specs declared it once; it is left to the one that still does)
    const mine = ownedBy === undefined ? ours.get(key) : undefined;
    const prunable = options.prune === true && ownedBy === undefined;
    if (!mine && !prunable) {
      foreign.push({ serviceKey: key, realServers: current.realServers.length, ...(ownedBy ? { ownedBy } : {}), pruned: false });
      continue;
    }
    if (!mine) foreign.push({ serviceKey: key, realServers: current.realServers.length, pruned: true });
    const name = mine?.name ?? key;
    const renamedTo = mine && namesToKeys.get(mine.name);
    const kind = mine?.kind === "keepalived" ? "keepalived" : "applier";
    ops.push({
      action: "remove-service", class: renamedTo ? "disruptive" : "draining", owner: kind, service: name, serviceKey: key, changes: [],
      ...(renamedTo ? { note: `replaced by ${renamedTo}` } : {}),
    });
    for (const rs of current.realServers) {
      const rsKey = realServerKeyString(rs);
      ops.push({ action: "drain-real-server", class: "draining", owner: kind, service: name, serviceKey: key, realServer: rsKey, changes: [{ field: "weight", from: String(rs.weight), to: "0" }], ...connectionNote(live, key, rsKey) });
      if (rs.weight !== 0) {
        editRs.push({ cmd: renderRealServerCommand("-e", current, weightZero(rs)), undo: [renderRealServerCommand("-e", current, rs)] });
      }
      batches.drain.push({ selector: serviceSelector(current.key), realServer: rsKey });
    }
    if (kind === "applier") {
      // re-creating a deleted service: -A first, then its servers (undo lists run in reverse)
      const recreate = [renderServiceCommand("-A", current), ...current.realServers.map((rs) => renderRealServerCommand("-a", current, rs))];
      delServices.push({ cmd: renderDeleteService(current.key), undo: recreate.reverse() });
      batches.removedSelectors.push(serviceSelector(current.key));
    }
  }

  const applySteps = [...addServices, ...editServices, ...addRs, ...editRs];
  const finalizeSteps = [...delRs, ...delServices];
  batches.apply = applySteps.map((st) => st.cmd);
  batches.finalize = finalizeSteps.map((st) => st.cmd);
  batches.rollback = [...applySteps, ...finalizeSteps].flatMap((st) => st.undo).reverse();

  // the apply script verifies only the services its batches touch (the fingerprint vouches
  // for the rest), so only those need their expected rules: a small plan for a small change.
  // Every batch line belongs to an operation on its service.
  const touched = new Set(ops.map((op) => op.serviceKey));
  const expectedRules = expectedRulesOf(desired, desiredServices.filter((s) => s.owner === "applier" && touched.has(keyOf.get(s)!)).map((s) => s.ipvs));

  // on the director already, not yet ours: recorded as owned by this apply (adoption)
  const adoptingServices = desiredServices.filter((s) => {
    const key = keyOf.get(s)!;
    return liveByKey.has(key) && !ours.has(key);
  });
  const adopting = adoptingServices.map((s) => s.name);

  // the services the apply changes (every batch line belongs to an operation on its service)
  // or records as they are, as this read saw them: the apply script lists each under its lock
  // and compares. Those not on the director have no lines and must still be absent.
  const checked = [...new Set([...touched, ...adoptingServices.map((s) => keyOf.get(s)!)])];
  const beforeServices = checked.flatMap((k) => liveByKey.get(k) ?? []);
  const beforeRules = beforeServices.length === 0 ? "" : renderIpvsadmRules({ services: beforeServices });
  const beforeSelectors = checked.map((k) => serviceSelector((liveByKey.get(k) ?? desiredByKey.get(k)!.ipvs).key)).sort();

  const record: OwnershipRecord = { owner, services: {} };
  for (const s of desiredServices) record.services[s.name] = `${keyOf.get(s)!} ${s.owner}`;

  const managed = keepalivedIsManaged(desired.model);
  const configChanged = managed && live.keepalivedConf !== desired.keepalivedConf;
  const action = !managed ? "none" : !live.keepalivedRunning ? "start" : configChanged ? "reload" : "none";
  const diff = configChanged
    ? diffConfigText("keepalived.conf (live)", "keepalived.conf (desired)", live.keepalivedConf ?? "", desired.keepalivedConf)
    : "";

  // declared here and named by another owner's record too: both specs change it
  const contested: ContestedService[] = [];
  for (const s of desiredServices) {
    const ownedBy = others.get(keyOf.get(s)!);
    if (ownedBy !== undefined) contested.push({ service: s.name, serviceKey: keyOf.get(s)!, ownedBy });
  }

  const plan: DirectorPlan = {
    director: desired.model.name,
    fingerprint: live.fingerprint,
    ...(live.contextFingerprint ? { contextFingerprint: live.contextFingerprint, beforeSelectors, beforeRules } : {}),
    owner,
    operations: ops,
    adopting,
    foreign: foreign.sort((a, b) => (a.serviceKey < b.serviceKey ? -1 : 1)),
    ...(contested.length > 0 ? { contested } : {}),
    keepalived: { managed, configChanged, diff, action },
    batches,
    expectedRules,
    ownershipRecord: renderOwnershipRecord(record),
    keepalivedConfSha256: createHash("sha256").update(desired.keepalivedConf).digest("hex"),
    empty: false,
  };
  const previous = live.ownership.find((r) => r.owner === owner);
  const recordChanged = !previous || !sameRecord(previous, record);
  plan.empty = ops.length === 0 && action === "none" && !recordChanged;
  return plan;
}
