/** Plans a whole spec: one DirectorPlan per director, in HA-safe rollout order. */
import { canonicalAddress } from "../model/addresses.js";
import type { DirectorModel, Model } from "../model/model.js";
import { serviceKeyString } from "../model/service-key.js";
import type { LiveState } from "../state/live-state.js";
import { planDirector, type DesiredDirector, type PlanOptions } from "./compute-plan.js";
import type { Plan } from "./plan-types.js";

/** `192.0.2.10/32` -> `192.0.2.10`, canonical; the text itself when it does not parse. */
function addressPart(text: string): string {
  const address = text.split("/")[0] ?? "";
  try {
    return canonicalAddress(address);
  } catch {
    return address;
  }
}

/**
 * True when the director holds one of its VRRP instances' VIPs (advertised or excluded):
 * it is the current master. Addresses are compared without their prefix length, in
 * canonical form, whatever prefix the live address carries.
 */
export function holdsVips(director: DirectorModel, live: LiveState): boolean {
  const vips = new Set(director.vrrpInstances.flatMap((i) => [...i.vips, ...i.excludedVips]).map(addressPart));
  return live.addresses.some((a) => vips.has(addressPart(a.address)));
}

/**
 * Rollout order: directors that do not hold the VIPs first (in spec order), the current
 * master(s) last, so a failing rollout stops before it touches the director carrying traffic.
 */
export function rolloutOrder(model: Model, lives: ReadonlyMap<string, LiveState>): string[] {
  const masters: string[] = [], others: string[] = [];
  for (const d of model.directors) {
    const live = lives.get(d.name);
    (live && holdsVips(d, live) ? masters : others).push(d.name);
  }
  return [...others, ...masters];
}

/** A director's rendered texts, as compile gives them (DirectorArtifacts). */
export type DirectorTexts = Omit<DesiredDirector, "model">;

/** Plans every director that has a live state. */
export function computePlan(
  model: Model,
  texts: ReadonlyMap<string, DirectorTexts>,
  lives: ReadonlyMap<string, LiveState>,
  options: PlanOptions,
): Plan {
  const order = rolloutOrder(model, lives).filter((n) => lives.has(n));
  const directors = order.map((name) => {
    const d = model.directors.find((x) => x.name === name)!;
    return planDirector({ keepalivedConf: "", ...texts.get(name), model: d }, lives.get(name)!, options);
  });
  return { version: 1, order, directors };
}

/**
 * The rollout order cut into groups of directors that must not change at the same time:
 * directors that share a VRRP instance (an HA pair: one takes over the other's VIPs) or
 * carry a common virtual service (redundant for it, as an ECMP pair, or the same address at
 * two sites) are in one group. Each
 * group keeps `order`'s order (backups first, the current master last); groups come in the
 * order of their first director in `order`. Directors of different groups are independent
 * and may roll out side by side. Names in `order` the model does not declare form groups of
 * their own.
 */
export function rolloutGroups(model: Model, order: readonly string[]): string[][] {
  const parent = new Map<string, string>(order.map((n) => [n, n]));
  const find = (n: string): string => {
    let root = n;
    while (parent.get(root) !== root) root = parent.get(root)!;
    parent.set(n, root);
    return root;
  };
  const join = (members: readonly string[]) => {
    const present = members.filter((m) => parent.has(m));
    for (const m of present.slice(1)) parent.set(find(m), find(present[0]!));
  };
  const byInstance = new Map<string, string[]>();
  for (const d of model.directors) {
    for (const i of d.vrrpInstances) byInstance.set(i.name, [...(byInstance.get(i.name) ?? []), d.name]);
  }
  for (const members of byInstance.values()) join(members);
  // one virtual service (by its key) on several directors, in one entry or in several
  const byService = new Map<string, string[]>();
  for (const s of model.services) {
    const key = serviceKeyString(s.ipvs.key);
    byService.set(key, [...(byService.get(key) ?? []), ...s.directors]);
  }
  for (const members of byService.values()) join(members);
  const groups = new Map<string, string[]>();
  for (const n of order) {
    const root = find(n);
    groups.set(root, [...(groups.get(root) ?? []), n]);
  }
  return [...groups.values()];
}
