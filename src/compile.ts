/**
 * compile: spec -> parse -> validate -> normalize -> render. Pure: no files, no network.
 * The CLI and the Pulumi components both call this and nothing else to get the artifacts.
 */
import { hasErrors, type Issue } from "./issues.js";
import type { DirectorModel, IpvsRealServer, IpvsService, Model } from "./model/model.js";
import { serviceKeyString } from "./model/service-key.js";
import { normalize } from "./model/normalize.js";
import { renderIpvsadmRules } from "./render/render-ipvsadm-rules.js";
import { renderKeepalivedConf, type VirtualServerBlocks } from "./render/render-keepalived-conf.js";
import { renderSysctlConf } from "./render/render-sysctl-conf.js";
import { renderVrrpAuthFiles } from "./render/render-vrrp-auth.js";
import { loadSpecText, locateIssues, unexpectedFailure, type LoadResult } from "./schema/load-spec-file.js";
import { parseSpec, type ParseResult } from "./schema/parse-spec.js";
import type { ParsedSpec } from "./schema/spec-schema.js";
import { validate } from "./validate/validate.js";

/** What one director receives. */
export interface DirectorArtifacts {
  name: string;
  /** this director's share of the table, in `ipvsadm -R` form */
  ipvsadmRules: string;
  keepalivedConf: string;
  /** VRRP password includes: secrets, never logged or shown in plans */
  secretFiles: { path: string; content: string }[];
}

/** Everything compile() produces. */
export interface CompileOutput {
  model: Model;
  /** the whole desired table (every service of every director) */
  ipvsadmRules: string;
  sysctlConf: string;
  directors: DirectorArtifacts[];
}

export type CompileResult =
  | { ok: true; output: CompileOutput; issues: Issue[] }
  | { ok: false; issues: Issue[] };

/** Equal in every field renderIpvsadmRules reads, so the two render the same text. */
function sameRealServer(a: IpvsRealServer, b: IpvsRealServer): boolean {
  return a.address === b.address && a.port === b.port && a.forwarding === b.forwarding && a.weight === b.weight &&
    a.upperThreshold === b.upperThreshold && a.lowerThreshold === b.lowerThreshold &&
    a.tunnel?.type === b.tunnel?.type && a.tunnel?.port === b.tunnel?.port && a.tunnel?.checksum === b.tunnel?.checksum;
}

function sameService(a: IpvsService, b: IpvsService): boolean {
  if (serviceKeyString(a.key) !== serviceKeyString(b.key) || a.family !== b.family || a.scheduler !== b.scheduler) return false;
  if (a.flags.join() !== b.flags.join() || a.onePacket !== b.onePacket || a.persistenceEngine !== b.persistenceEngine) return false;
  if (a.persistence?.timeout !== b.persistence?.timeout || a.persistence?.prefixLength !== b.persistence?.prefixLength) return false;
  if (a.realServers.length !== b.realServers.length) return false;
  for (let i = 0; i < a.realServers.length; i++) if (!sameRealServer(a.realServers[i]!, b.realServers[i]!)) return false;
  return true;
}

/** Same services in the same order, field for field. */
function sameTable(a: readonly IpvsService[], b: readonly IpvsService[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !sameService(a[i]!, b[i]!)) return false;
  return true;
}

/** What every director of one model can share: the whole table's text and the virtual_server blocks. */
interface SharedRender {
  table: IpvsService[];
  rules: string;
  virtualServers: VirtualServerBlocks;
}

function renderDirector(model: Model, director: DirectorModel, shared: SharedRender): DirectorArtifacts {
  // a director carrying every service (the usual HA pair) has the whole table: same data, same text
  const rules = sameTable(director.table.services, shared.table) ? shared.rules : renderIpvsadmRules(director.table);
  return {
    name: director.name,
    ipvsadmRules: rules,
    keepalivedConf: renderKeepalivedConf(model, director, shared.virtualServers),
    secretFiles: renderVrrpAuthFiles(model, director),
  };
}

/** Renders a validated model. */
export function renderModel(model: Model): CompileOutput {
  const table = model.services.map((s) => s.ipvs);
  const shared: SharedRender = { table, rules: renderIpvsadmRules({ services: table }), virtualServers: new Map() };
  return {
    model,
    ipvsadmRules: shared.rules,
    sysctlConf: renderSysctlConf(model),
    directors: model.directors.map((d) => renderDirector(model, d, shared)),
  };
}

/** A checked spec's model, or the issues that stop it and the stage that found them. */
type CheckedModel =
  | { ok: true; model: Model; issues: Issue[] }
  | { ok: false; issues: Issue[]; stage: "schema" | "validate" };

/** Validates a parsed spec and builds its model. */
function checkedModel(parsed: ParseResult | LoadResult): CheckedModel {
  if (!parsed.ok) return { ok: false, issues: parsed.issues, stage: "schema" };
  const issues = validate(parsed.spec);
  if (hasErrors(issues)) return { ok: false, issues, stage: "validate" };
  return { ok: true, model: normalize(parsed.spec), issues };
}

// The parsed spec is made and dropped inside these two: V8 keeps a value alive while any
// frame still holds it, even in a register no code reads again. Returned from here, the
// spec's objects (1.6M at 50k services) are garbage while the files render, instead of
// being marked by the full collections that producing 100 MB of output brings on
// (render at 50k: 2.8 s -> 2.4 s, medians of three).
function modelOfValue(input: unknown): CheckedModel {
  return checkedModel(parseSpec(input));
}

function modelOfText(text: string, file: string): CheckedModel {
  return checkedModel(loadSpecText(text, file));
}

function rendered(checked: CheckedModel): CompileResult {
  return checked.ok ? { ok: true, output: renderModel(checked.model), issues: checked.issues } : { ok: false, issues: checked.issues };
}

/** Validates and renders a spec that passed the schema. Warnings come back with the output. */
export function compileParsed(spec: ParsedSpec): CompileResult {
  return rendered(checkedModel({ ok: true, spec, issues: [] }));
}

/** Compiles a spec given as a plain value (TypeScript object, parsed JSON). */
export function compile(input: unknown): CompileResult {
  return rendered(modelOfValue(input));
}

/**
 * Compiles spec text (YAML or JSON); issues carry file:line:column. Never throws, for any
 * text: a failure no input should cause comes back as one `internal-error` issue.
 */
export function compileText(text: string, file: string): CompileResult {
  try {
    return compileTextUnguarded(text, file);
  } catch (e) {
    return { ok: false, issues: [unexpectedFailure(e)] };
  }
}

function compileTextUnguarded(text: string, file: string): CompileResult {
  const checked = modelOfText(text, file);
  const result = rendered(checked);
  // the loader locates its own issues; semantic ones point into the file too. With none
  // there is nothing to locate, and re-reading the document for positions costs as much
  // as the first read
  if (result.issues.length === 0 || (!checked.ok && checked.stage === "schema")) return result;
  return { ...result, issues: locateIssues(result.issues, text, file) };
}

/** A file of the build output: relative path, content, and whether it holds a secret. */
export interface BuildFile {
  path: string;
  content: string;
  secret: boolean;
}

/**
 * The layout `ipvsc build --out DIR` writes (pure; the CLI does the writing):
 * ipvsadm.rules, sysctl.conf, keepalived/<director>.conf, per-director rules when a
 * director carries only part of the table, and secrets/<director>/<include> files.
 */
export function buildFiles(output: CompileOutput): BuildFile[] {
  const files: BuildFile[] = [
    { path: "ipvsadm.rules", content: output.ipvsadmRules, secret: false },
    { path: "sysctl.conf", content: output.sysctlConf, secret: false },
  ];
  for (const d of output.directors) {
    files.push({ path: `keepalived/${d.name}.conf`, content: d.keepalivedConf, secret: false });
    if (d.ipvsadmRules !== output.ipvsadmRules) {
      files.push({ path: `ipvsadm/${d.name}.rules`, content: d.ipvsadmRules, secret: false });
    }
    for (const s of d.secretFiles) {
      files.push({ path: `secrets/${d.name}/${s.path.split("/").pop()!}`, content: s.content, secret: true });
    }
  }
  return files;
}
