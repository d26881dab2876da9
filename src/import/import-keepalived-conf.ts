/**
 * keepalived.conf -> spec: parse into a block tree, map what the spec can express, report
 * the rest, then let the real schema and semantic rules decide what stays (repair-spec.ts).
 * The result is a spec that passes parseSpec() and validate(), one `unsupported-construct`
 * warning per construct that is not carried over (or carried over with a change), and the
 * set of source nodes left out, which a structural comparison of the rendered config
 * against the original can skip. Pure: includes come through the callbacks.
 */
import { formatPath, type Issue } from "../issues.js";
import { NAME } from "../schema/grammar.js";
import type { SpecInput } from "../schema/spec-schema.js";
import { ImportContext, type DirectorInput, type ServiceInput, type SpecNote } from "./import-context.js";
import { sortFindings } from "./import-findings.js";
import { readTrackFile, type TrackFile } from "./map-health-checks.js";
import { mapVirtualServer, type VirtualServerEnv } from "./map-virtual-servers.js";
import { mapGlobalDefs, mapSyncGroups, mapVrrpInstance, mapVrrpScript, type VrrpParts } from "./map-vrrp.js";
import { parseKeepalivedConf, statementText, type ConfNode, type ConfSources } from "./parse-keepalived-conf.js";
import { repairSpec } from "./repair-spec.js";

/** Options of {@link importKeepalivedConf}. */
export interface KeepalivedImportOptions extends ConfSources {
  /** the director's name @default router_id when it is a valid name, else derived from the file name */
  directorName?: string;
}

/** What an import produces. */
export interface ImportResult {
  /** the spec, valid for parseSpec() and validate() unless specIssues has errors */
  spec: SpecInput;
  /** `unsupported-construct` warnings, by file and line */
  findings: Issue[];
  /** what validate() still says about the spec: warnings (errors only if the importer has a bug) */
  specIssues: Issue[];
  /** source nodes (with their blocks) whose content is not in the spec */
  dropped: ReadonlySet<ConfNode>;
  /** comments for the spec file (placeholders, secrets) */
  notes: SpecNote[];
  /** the parsed source */
  tree: ConfNode[];
  /** files read, the main one first */
  files: string[];
}

/** A valid director name: `preferred` if it is one, else one made from the file name. */
export function directorNameFor(preferred: string | undefined, file: string): string {
  if (preferred !== undefined && NAME.pattern.test(preferred)) return preferred;
  const base = (file.split("/").pop() ?? "").replace(/[^A-Za-z0-9_.-]/g, "-").replace(/^[^A-Za-z]+/, "");
  const name = base.slice(0, 63);
  return NAME.pattern.test(name) ? name : "director";
}

/** Interfaces the spec's VRRP side names, sorted. */
function interfacesOf(spec: SpecInput): string[] {
  const names = new Set<string>();
  for (const inst of spec.vrrp?.instances ?? []) {
    names.add(inst.interface);
    for (const t of inst.trackInterfaces ?? []) names.add(t.name);
  }
  for (const d of spec.directors) for (const o of Object.values(d.vrrp ?? {})) if (o.interface) names.add(o.interface);
  if (spec.syncDaemon) names.add(spec.syncDaemon.interface);
  names.delete("");
  return [...names].sort();
}

/** Comments for the spec file. */
function notesFor(spec: SpecInput, file: string, placeholder: boolean): SpecNote[] {
  const notes: SpecNote[] = [
    { path: ["directors", 0], comment: `imported from ${file}: add ssh: { host, hostKey } to plan and apply against this director` },
  ];
  if (placeholder) {
    notes.push({ path: ["directors", 0, "interfaces"], comment: "placeholder: the configuration names no interface; list the director's interfaces" });
  }
  (spec.vrrp?.instances ?? []).forEach((inst, k) => {
    if (inst.authPassword === undefined) return;
    notes.push({
      path: ["vrrp", "instances", k, "authPassword"],
      comment: "secret (the auth_pass of the imported config): keep this file private, or pass the password in from a secret store",
    });
  });
  return notes;
}

/** Imports keepalived.conf text; `file` names it in findings and anchors relative includes. */
export function importKeepalivedConf(text: string, file: string, options: KeepalivedImportOptions = {}): ImportResult {
  const parsed = parseKeepalivedConf(text, file, options);
  const ctx = new ImportContext(parsed.nodes);
  ctx.findings.push(...parsed.issues);

  const byKeyword = (k: string) => parsed.nodes.filter((n) => n.keyword === k);
  const director: DirectorInput = { name: "", interfaces: [] };
  const parts: VrrpParts = { instances: [], scripts: [] };
  for (const g of byKeyword("global_defs")) {
    if (!g.children) ctx.drop(g, "global_defs needs a '{ }' block; not imported");
    else mapGlobalDefs(ctx, g, director, parts);
  }
  director.name = directorNameFor(options.directorName ?? director.routerId, file);
  if (director.routerId === director.name && options.directorName === undefined) {
    // the name says it already; keep the file short
    delete director.routerId;
  }

  const trackFiles = new Map<string, TrackFile>();
  for (const node of byKeyword("track_file")) {
    const tf = readTrackFile(ctx, node);
    if (tf) trackFiles.set(node.args[0]!, tf);
  }
  const groups = new Map<string, ConfNode>();
  for (const node of byKeyword("virtual_server_group")) {
    const name = node.args[0];
    if (name === undefined || !node.children) ctx.drop(node, "virtual_server_group needs a name and a '{ }' block; not imported");
    else if (groups.has(name)) ctx.drop(node, `virtual_server_group ${name} is defined twice; the first definition is imported`);
    else groups.set(name, node);
  }

  for (const node of byKeyword("vrrp_script")) mapVrrpScript(ctx, node, parts);
  const built = byKeyword("vrrp_instance").flatMap((node) => mapVrrpInstance(ctx, node, parts) ?? []);
  const seenInstances = new Set<string>();
  for (const b of built) {
    if (seenInstances.has(b.instance.name)) {
      ctx.drop(b.node, `vrrp_instance ${b.instance.name} is defined twice; the first definition is imported`);
      continue;
    }
    seenInstances.add(b.instance.name);
    parts.instances.push(b.instance);
    if (Object.keys(b.override).length > 0) {
      director.vrrp ??= {};
      director.vrrp[b.instance.name] = ctx.prov.object(b.override, b.node);
    }
  }
  mapSyncGroups(ctx, byKeyword("vrrp_sync_group"), built.filter((b) => parts.instances.includes(b.instance)), parts);

  const env: VirtualServerEnv = { groups, usedGroups: new Set(), trackFiles, names: new Set() };
  const services: ServiceInput[] = byKeyword("virtual_server").flatMap((node) => mapVirtualServer(ctx, node, env));
  for (const [name, node] of groups) {
    if (!env.usedGroups.has(name)) ctx.drop(node, `virtual_server_group ${name} is not used by any virtual_server; not imported`);
  }
  for (const [name, tf] of trackFiles) {
    if (!tf.used) ctx.drop(tf.node, `track_file ${name} is not used by a FILE_CHECK (VRRP file tracking is not modelled); not imported`);
  }
  const known = new Set(["global_defs", "track_file", "virtual_server_group", "vrrp_script", "vrrp_instance", "vrrp_sync_group", "virtual_server"]);
  for (const node of parsed.nodes) if (!known.has(node.keyword)) ctx.dropUnknown(node, "the top level");

  const spec: SpecInput = { directors: [director], services };
  if (env.targetKernel !== undefined) spec.targetKernel = env.targetKernel;
  if (parts.instances.length > 0 || parts.scripts.length > 0) {
    spec.vrrp = { instances: parts.instances, scripts: parts.scripts };
    if (parts.syncGroup !== undefined) spec.vrrp.syncGroup = parts.syncGroup;
    if (parts.syncGroups !== undefined) spec.vrrp.syncGroups = parts.syncGroups;
  }
  if (parts.syncDaemon) spec.syncDaemon = parts.syncDaemon;
  if (parts.timeouts) spec.timeouts = parts.timeouts;
  if (parts.scriptUser !== undefined) spec.keepalived = { scriptUser: parts.scriptUser };
  const used = interfacesOf(spec);
  director.interfaces = used.length > 0 ? used : ["eth0"];

  const specIssues = repairSpec(spec, ctx.prov, (origin, cause) => {
    const what = statementText(origin.node);
    ctx.drop(origin.node, `${what.length > 70 ? `${what.slice(0, 67)}...` : what}: not imported: ${cause.message} (${formatPath(cause.path)})`, cause.hint);
    for (const a of origin.aliases) ctx.markDropped(a);
  });

  // tidy what the repair may have emptied
  if (spec.vrrp && (spec.vrrp.instances ?? []).length < 2) {
    delete spec.vrrp.syncGroup;
    if ((spec.vrrp.syncGroups ?? []).length === 0) delete spec.vrrp.syncGroups;
  }
  if (spec.vrrp && (spec.vrrp.instances ?? []).length === 0) delete spec.vrrp.instances;
  if (spec.vrrp && (spec.vrrp.scripts ?? []).length === 0) delete spec.vrrp.scripts;
  if (spec.vrrp && Object.keys(spec.vrrp).length === 0) delete spec.vrrp;
  if (director.vrrp && Object.keys(director.vrrp).length === 0) delete director.vrrp;
  const remaining = interfacesOf(spec);
  director.interfaces = remaining.length > 0 ? remaining : ["eth0"];

  return {
    spec,
    findings: sortFindings(ctx.findings, parsed.files),
    specIssues,
    dropped: ctx.dropped,
    notes: notesFor(spec, file, remaining.length === 0),
    tree: parsed.nodes,
    files: parsed.files,
  };
}
