/**
 * compile: spec -> parse -> validate -> normalize -> render. Pure: no files, no network.
 * The CLI and the Pulumi components both call this and nothing else to get the artifacts.
 */
import { hasErrors, type Issue } from "./issues.js";
import type { DirectorModel, Model } from "./model/model.js";
import { normalize } from "./model/normalize.js";
import { renderIpvsadmRules } from "./render/render-ipvsadm-rules.js";
import { renderKeepalivedConf } from "./render/render-keepalived-conf.js";
import { renderSysctlConf } from "./render/render-sysctl-conf.js";
import { renderVrrpAuthFiles } from "./render/render-vrrp-auth.js";
import { loadSpecText, locateIssues } from "./schema/load-spec-file.js";
import { parseSpec } from "./schema/parse-spec.js";
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

function renderDirector(model: Model, director: DirectorModel): DirectorArtifacts {
  return {
    name: director.name,
    ipvsadmRules: renderIpvsadmRules(director.table),
    keepalivedConf: renderKeepalivedConf(model, director),
    secretFiles: renderVrrpAuthFiles(model, director),
  };
}

/** Renders a validated model. */
export function renderModel(model: Model): CompileOutput {
  return {
    model,
    ipvsadmRules: renderIpvsadmRules({ services: model.services.map((s) => s.ipvs) }),
    sysctlConf: renderSysctlConf(model),
    directors: model.directors.map((d) => renderDirector(model, d)),
  };
}

/** Validates and renders a spec that passed the schema. Warnings come back with the output. */
export function compileParsed(spec: ParsedSpec): CompileResult {
  const issues = validate(spec);
  if (hasErrors(issues)) return { ok: false, issues };
  return { ok: true, output: renderModel(normalize(spec)), issues };
}

/** Compiles a spec given as a plain value (TypeScript object, parsed JSON). */
export function compile(input: unknown): CompileResult {
  const parsed = parseSpec(input);
  if (!parsed.ok) return parsed;
  return compileParsed(parsed.spec);
}

/** Compiles spec text (YAML or JSON); issues carry file:line:column. */
export function compileText(text: string, file: string): CompileResult {
  const loaded = loadSpecText(text, file);
  if (!loaded.ok) return loaded;
  const result = compileParsed(loaded.spec);
  // semantic issues point into the file too
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
