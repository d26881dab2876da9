/**
 * The VRRP secrets include: one small file per instance holding `auth_pass`, included
 * from the `authentication` block of keepalived.conf. keepalived.conf itself never holds
 * a password, so it can be shown in plans, diffs and logs; the include files are the only
 * secret artefacts and are written with mode 0600 by the applier.
 */
import type { DirectorModel, Model } from "../model/model.js";
import { KeepalivedWriter } from "./keepalived-writer.js";

/** A rendered file and where it goes on the director. */
export interface RenderedFile {
  path: string;
  content: string;
}

/** `<configDir>/vrrp-auth-<instance>.conf` */
export function vrrpAuthIncludePath(configDir: string, instance: string): string {
  const dir = configDir.length > 1 ? configDir.replace(/\/+$/, "") : configDir;
  return `${dir === "/" ? "" : dir}/vrrp-auth-${instance}.conf`;
}

/**
 * One include per VRRP instance of `director` that has a password, sorted by instance
 * name. Content is `auth_pass <password>\n`; the writer refuses a password that could
 * break out of the token (whitespace, quotes, comment characters, ...).
 */
export function renderVrrpAuthFiles(model: Model, director: DirectorModel): RenderedFile[] {
  const out: RenderedFile[] = [];
  for (const inst of director.vrrpInstances) {
    if (!inst.hasAuthPassword) continue;
    const password = director.vrrpSecrets[inst.name];
    if (password === undefined) throw new Error(`VRRP instance ${inst.name} on ${director.name} has no password in the model's secrets`);
    const w = new KeepalivedWriter();
    w.line("auth_pass", password);
    out.push({ path: vrrpAuthIncludePath(model.keepalived.configDir, inst.name), content: w.toString() });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
