/** Plans a whole spec: one DirectorPlan per director, in HA-safe rollout order. */
import { canonicalAddress } from "../model/addresses.js";
import type { DirectorModel, Model } from "../model/model.js";
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
